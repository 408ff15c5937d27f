import CKernels
import OmniCore

/// Q8_0 / Q4_0 block quantization and dequantization with the ggml reference formulas (`BlockQuant`).
///
/// Sources and targets: f32, f16 and bf16 ↔ q8_0 and q4_0. 16-bit floats go through f32 in slices of
/// blocks (exact widening; narrowing rounds to nearest even). `count` must be a multiple of 32.
public struct BlockQuantConverter: DTypeConverter {
    /// The plugin; stateless.
    public init() {}
    /// Plugin name.
    public var name: String { "blockquant" }

    /// Every (float, quantized) pair in both directions.
    public var conversions: Set<DTypePair> {
        var s = Set<DTypePair>()
        for f in [DType.f32, .f16, .bf16] {
            for q in [DType.q8_0, .q4_0] { s.insert(DTypePair(f, q)); s.insert(DTypePair(q, f)) }
        }
        return s
    }

    /// Blocks converted per f32 scratch slice when a 16-bit float is on one side.
    static let sliceBlocks = 256

    public func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, _ to: DType,
                        count: Int) throws {
        guard supports(from: from, to: to) else {
            throw OmniError.unsupported(what: "conversion \(from)→\(to)",
                                        reasons: ["\(name) converts f32/f16/bf16 ↔ q8_0/q4_0"])
        }
        guard count >= 0, count % BlockQuant.blockSize == 0 else {
            throw OmniError.invalidArgument(name: "count", expected: "a multiple of 32 for \(from)→\(to)",
                                            actual: "\(count)")
        }
        let blocks = count / BlockQuant.blockSize
        if from.isQuantized {
            let qBytes = from.blockBytes
            let isQ8 = from == .q8_0
            func deq(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
                if isQ8 { BlockQuant.dequantizeBlockQ8_0(x, y) } else { BlockQuant.dequantizeBlockQ4_0(x, y) }
            }
            if to == .f32 {
                let y = dst.assumingMemoryBound(to: Float.self)
                for b in 0..<blocks { deq(src + b * qBytes, y + b * 32) }
                return
            }
            Self.withScratch { tmp in
                var b = 0
                while b < blocks {
                    let m = min(Self.sliceBlocks, blocks - b)
                    for k in 0..<m { deq(src + (b + k) * qBytes, tmp + k * 32) }
                    let d = dst.assumingMemoryBound(to: UInt16.self) + b * 32
                    if to == .f16 { omni_f32_to_f16(tmp, d, m * 32) } else { omni_f32_to_bf16(tmp, d, m * 32) }
                    b += m
                }
            }
        } else {
            let qBytes = to.blockBytes
            let isQ8 = to == .q8_0
            func quant(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
                if isQ8 { BlockQuant.quantizeBlockQ8_0(x, y) } else { BlockQuant.quantizeBlockQ4_0(x, y) }
            }
            if from == .f32 {
                let x = src.assumingMemoryBound(to: Float.self)
                for b in 0..<blocks { quant(x + b * 32, dst + b * qBytes) }
                return
            }
            Self.withScratch { tmp in
                var b = 0
                while b < blocks {
                    let m = min(Self.sliceBlocks, blocks - b)
                    let s = src.assumingMemoryBound(to: UInt16.self) + b * 32
                    if from == .f16 { omni_f16_to_f32(s, tmp, m * 32) } else { omni_bf16_to_f32(s, tmp, m * 32) }
                    for k in 0..<m { quant(tmp + k * 32, dst + (b + k) * qBytes) }
                    b += m
                }
            }
        }
    }

    private static func withScratch(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: sliceBlocks * 32)
        defer { tmp.deallocate() }
        body(tmp)
    }
}
