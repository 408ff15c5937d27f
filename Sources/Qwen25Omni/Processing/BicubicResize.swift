import CKernels
import OmniCore

/// PIL's antialiased bicubic resize (`Image.resize(size, Image.BICUBIC)`, Pillow's ImagingResample), which the
/// reference's processors and torch's uint8 antialiased bicubic both reproduce: Keys a = −0.5, support scaled by the
/// downscale factor, 22-bit fixed-point coefficients, horizontal pass then vertical, each rounded and clamped to
/// uint8. The passes run in CKernels (`omni_resample_rgb8_*`, AVX2 when the CPU has it); the integer sums are exact,
/// so every path gives the same bytes as the scalar Swift reference below.
extension VisionProcessor {
    /// `image` (height, width, 3) resized to (height, width, 3). Unchanged sizes return the input.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var img = image
        if width != img.width {
            let plan = ResampleCoefficients(inSize: img.width, outSize: width)
            let source = img, rows = img.height
            img = RGBImage(width: width, height: rows, pixels: filled(width * rows * 3) { dst in
                source.pixels.withUnsafeBufferPointer { src in
                    plan.withPointers { bounds, coeffs in
                        omni_resample_rgb8_horizontal(src.baseAddress, source.width, dst, width, bounds, coeffs, plan.taps, 0, rows)
                    }
                }
            })
        }
        if height != img.height {
            let plan = ResampleCoefficients(inSize: img.height, outSize: height)
            let source = img, rowBytes = img.width * 3
            img = RGBImage(width: img.width, height: height, pixels: filled(rowBytes * height) { dst in
                source.pixels.withUnsafeBufferPointer { src in
                    plan.withPointers { bounds, coeffs in
                        omni_resample_rgb8_vertical(src.baseAddress, rowBytes, dst, bounds, coeffs, plan.taps, 0, height)
                    }
                }
            })
        }
        return img
    }

    /// `count` bytes written by `body` (which writes every one), without zero-filling them first.
    private static func filled(_ count: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            if let p = buf.baseAddress { body(p) }
            n = count
        }
    }

    /// The scalar Swift resize the kernels replaced (64-bit sums), kept as the oracle they are tested against.
    static func resizeReference(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var img = image
        if width != img.width { img = referencePass(img, outWidth: width, horizontal: true) }
        if height != img.height { img = referencePass(img, outWidth: height, horizontal: false) }
        return img
    }

    /// One separable pass of `resizeReference`: the horizontal pass accumulates the three channels of a pixel
    /// together; the vertical pass adds whole source rows, scaled, into a row of accumulators.
    private static func referencePass(_ img: RGBImage, outWidth out: Int, horizontal: Bool) -> RGBImage {
        let plan = ResampleCoefficients(inSize: horizontal ? img.width : img.height, outSize: out)
        let taps = plan.taps, bounds = plan.bounds, cf = plan.coeffs
        let ow = horizontal ? out : img.width, oh = horizontal ? img.height : out
        var d = [UInt8](repeating: 0, count: ow * oh * 3)
        let half = 1 << 21, sp = img.pixels
        if horizontal {
            let rowIn = img.width * 3
            for y in 0..<oh {
                for x in 0..<ow {
                    let start = Int(bounds[2 * x]), count = Int(bounds[2 * x + 1])
                    var s0 = half, s1 = half, s2 = half
                    for k in 0..<count {
                        let c = Int(cf[x * taps + k]), p = y * rowIn + (start + k) * 3
                        s0 += Int(sp[p]) * c; s1 += Int(sp[p + 1]) * c; s2 += Int(sp[p + 2]) * c
                    }
                    let o = (y * ow + x) * 3
                    d[o] = UInt8(clamping: s0 >> 22); d[o + 1] = UInt8(clamping: s1 >> 22); d[o + 2] = UInt8(clamping: s2 >> 22)
                }
            }
        } else {
            let n = img.width * 3
            for yy in 0..<oh {
                let start = Int(bounds[2 * yy]), count = Int(bounds[2 * yy + 1])
                var a = [Int](repeating: half, count: n)
                for k in 0..<count {
                    let c = Int(cf[yy * taps + k]), r = (start + k) * n
                    for j in 0..<n { a[j] += Int(sp[r + j]) * c }
                }
                for j in 0..<n { d[yy * n + j] = UInt8(clamping: a[j] >> 22) }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: d)
    }
}

/// PIL's `precompute_coeffs` for the bicubic filter along one axis of `inSize` → `outSize` samples.
struct ResampleCoefficients {
    /// Most taps of one output sample.
    let taps: Int
    /// (outSize, 2): first input index and tap count per output sample.
    let bounds: [Int32]
    /// (outSize, taps): 22-bit fixed-point weights, zero past each output's count.
    let coeffs: [Int32]

    init(inSize: Int, outSize: Int) {
        func cubic(_ x: Double) -> Double {
            let a = -0.5, x = abs(x)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        let scale = Double(inSize) / Double(outSize), filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        var bounds = [Int32](repeating: 0, count: 2 * outSize), coeffs = [Int32](repeating: 0, count: outSize * taps)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inSize) - lo
            var w = [Double](repeating: 0, count: count), total = 0.0
            for k in 0..<count { w[k] = cubic((Double(k + lo) - center + 0.5) / filterScale); total += w[k] }
            for k in 0..<count {
                let v = total != 0 ? w[k] / total : 0
                coeffs[o * taps + k] = Int32((v * Double(1 << 22) + (v < 0 ? -0.5 : 0.5)).rounded(.towardZero))
            }
            bounds[2 * o] = Int32(lo)
            bounds[2 * o + 1] = Int32(count)
        }
        self.taps = taps
        self.bounds = bounds
        self.coeffs = coeffs
    }

    /// Runs `body` with pointers to `bounds` and `coeffs` (both non-empty: outSize ≥ 1).
    func withPointers(_ body: (UnsafePointer<Int32>, UnsafePointer<Int32>) -> Void) {
        bounds.withUnsafeBufferPointer { b in
            coeffs.withUnsafeBufferPointer { c in
                if let bp = b.baseAddress, let cp = c.baseAddress { body(bp, cp) }
            }
        }
    }
}
