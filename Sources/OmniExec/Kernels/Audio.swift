import CBLAS
import CKernels
import Foundation
import OmniCore

extension Kernels {
    /// out[co, i·s + k − p] += Σ_ci x[ci, i] · W[ci, co, k], + bias[co]: one SGEMM (xᵀ · W as [Cin, Cout·K]) then
    /// col2im. x [Cin, L], W [Cin, Cout, K] f32 contiguous.
    static func convTranspose1d(x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, out: Tensor) throws {
        let cin = x.shape[0], len = x.shape[1], cout = weight.shape[1], k = weight.shape[2], lOut = out.shape[1]
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: len * cout * k)
        defer { cols.deallocate() }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(len), Int32(cout * k), Int32(cin), 1,
                    x.floatPointer, Int32(len), weight.floatPointer, Int32(cout * k), 0, cols, Int32(cout * k))
        let yp = out.floatPointer
        for co in 0..<cout {
            let row = yp + co * lOut
            let b = bias.map { $0.floatPointer[co] } ?? 0
            for l in 0..<lOut { row[l] = b }
            for i in 0..<len {
                let src = cols + i * cout * k + co * k
                for kk in 0..<k {
                    let pos = i * stride + kk - padding
                    if pos >= 0 && pos < lOut { row[pos] += src[kk] }
                }
            }
        }
    }

    /// out = x · factor.
    static func scale(_ x: Tensor, _ factor: Float, out: Tensor) {
        out.floatPointer.update(from: x.floatPointer, count: out.elementCount)
        omni_scale(out.floatPointer, factor, out.elementCount)
    }

    /// The 12-tap Kaiser-windowed sinc low-pass of BigVGAN's anti-aliasing (`kaiser_sinc_filter1d(0.25, 0.3, 12)`),
    /// computed in Float64 and rounded to Float32, normalized to sum 1.
    static let antiAliasFilter: [Float] = {
        let taps = 12, half = 6, cutoff = 0.25, halfWidth = 0.3
        let a = 2.285 * Double(half - 1) * Double.pi * (4 * halfWidth) + 7.95
        let beta = a > 50 ? 0.1102 * (a - 8.7) : (a >= 21 ? 0.5842 * pow(a - 21, 0.4) + 0.07886 * (a - 21) : 0)
        var f = (0..<taps).map { n -> Double in
            let window = Kaiser.window(2 * Double(n) / Double(taps - 1) - 1, beta: beta)
            let t = Double(n - half) + 0.5, x = 2 * cutoff * t
            return 2 * cutoff * window * (x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x))
        }
        let total = f.reduce(0, +)
        f = f.map { $0 / total }
        return f.map { Float($0) }
    }()

    /// Anti-aliased SnakeBeta per channel of x [C, L] (alpha, beta [C] in log space).
    static func snakeBeta(_ x: Tensor, alpha: Tensor, beta: Tensor, out: Tensor) throws {
        let c = x.shape[0], n = x.shape[1]
        let f = antiAliasFilter, taps = f.count
        let xp = x.floatPointer, yp = out.floatPointer, ap = alpha.floatPointer, bp = beta.floatPointer
        try parallelFor(c) { ch in
            let src = xp + ch * n, dst = yp + ch * n
            let ea = Foundation.exp(ap[ch]), inv = 1 / (Foundation.exp(bp[ch]) + 1e-9)
            // Upsample ×2: replicate-pad 5, transposed conv stride 2 (×2), keep [15, 15 + 2n).
            var up = [Float](repeating: 0, count: 2 * n)
            for m in 0..<(2 * n) {
                let full = m + 15
                var s: Float = 0
                var k = full & 1
                while k < taps {
                    let i = (full - k) / 2   // padded input index
                    if i >= 0 && i < n + 10 { s += src[min(max(i - 5, 0), n - 1)] * f[k] }
                    k += 2
                }
                let u = 2 * s
                let sn = Foundation.sin(u * ea)
                up[m] = u + sn * sn * inv
            }
            // Downsample ×2: replicate-pad 5 left, 6 right, conv stride 2.
            for m in 0..<n {
                var s: Float = 0
                for k in 0..<taps { s += up[min(max(2 * m + k - 5, 0), 2 * n - 1)] * f[k] }
                dst[m] = s
            }
        }
    }
}
