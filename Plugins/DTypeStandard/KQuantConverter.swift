import CKernels
import OmniCore

/// Dequantizes the llama.cpp types read from GGUF files as stored: Q4_K and Q6_K (256-value super-blocks) and
/// Q5_0 (what llama.cpp writes for rows that are not whole super-blocks), with ggml's reference formulas
/// (CKernels/kquants.c), equal bit for bit to gguf-py's `gguf.quants.dequantize`.
///
/// Targets: f32, and f16/bf16 through f32 in slices of blocks (narrowing rounds to nearest even). There is no
/// quantizing direction: these weights come quantized from llama.cpp, and the runtime computes them as stored.
/// `count` must be a whole number of blocks (256 for the k-quants, 32 for Q5_0).
public struct KQuantConverter: DTypeConverter {
    /// The plugin; stateless.
    public init() {}
    /// Plugin name.
    public var name: String { "kquant" }

    /// The quantized types this plugin reads.
    public static let sources: [DType] = [.q5_0, .q4_k, .q6_k]

    /// (q5_0 | q4_k | q6_k) → (f32 | f16 | bf16).
    public var conversions: Set<DTypePair> {
        var s = Set<DTypePair>()
        for q in Self.sources { for f in [DType.f32, .f16, .bf16] { s.insert(DTypePair(q, f)) } }
        return s
    }

    /// Values widened per f32 scratch slice when the target is a 16-bit float.
    static let sliceValues = 8192

    public func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, _ to: DType,
                        count: Int) throws {
        guard supports(from: from, to: to) else {
            throw OmniError.unsupported(what: "conversion \(from)→\(to)",
                                        reasons: ["\(name) dequantizes q5_0/q4_k/q6_k to f32/f16/bf16"])
        }
        guard count >= 0, count % from.blockElements == 0 else {
            throw OmniError.invalidArgument(name: "count", expected: "a multiple of \(from.blockElements) for \(from)→\(to)",
                                            actual: "\(count)")
        }
        let s = src.assumingMemoryBound(to: UInt8.self)
        if to == .f32 {
            Self.dequantize(s, from, dst.assumingMemoryBound(to: Float.self), count)
            return
        }
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: Self.sliceValues)   // (sliceValues) f32 scratch
        defer { tmp.deallocate() }
        var i = 0
        while i < count {
            let m = min(Self.sliceValues, count - i)          // a multiple of 256, so of every block size
            Self.dequantize(s + i / from.blockElements * from.blockBytes, from, tmp, m)
            let d = dst.assumingMemoryBound(to: UInt16.self) + i
            if to == .f16 { omni_f32_to_f16(tmp, d, m) } else { omni_f32_to_bf16(tmp, d, m) }
            i += m
        }
    }

    /// `n` values (whole blocks) of `dtype` at `src` into f32 at `dst`.
    static func dequantize(_ src: UnsafePointer<UInt8>, _ dtype: DType, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        switch dtype {
        case .q4_k: omni_dequantize_q4_k(src, dst, n)
        case .q6_k: omni_dequantize_q6_k(src, dst, n)
        default: omni_dequantize_q5_0(src, dst, n)
        }
    }
}
