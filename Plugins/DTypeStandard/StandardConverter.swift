import CKernels
import OmniCore

/// f32 ↔ f16 ↔ bf16 bulk conversions (vectorized C kernels, run-time CPU dispatch).
///
/// Narrowing rounds to nearest even, overflows to infinity and keeps NaN a NaN; widening is exact.
/// f16 ↔ bf16 goes through f32 in blocks (exact: every f16 and bf16 is an f32).
public struct StandardConverter: DTypeConverter {
    public init() {}
    public var name: String { "standard" }

    public var conversions: Set<DTypePair> {
        let types: [DType] = [.f32, .f16, .bf16]
        var s = Set<DTypePair>()
        for a in types { for b in types { s.insert(DTypePair(a, b)) } }
        return s
    }

    public func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, _ to: DType,
                        count: Int) throws {
        guard supports(from: from, to: to) else {
            throw OmniError.unsupported(what: "conversion \(from)→\(to)", reasons: ["\(name) converts f32/f16/bf16"])
        }
        guard count >= 0 else {
            throw OmniError.invalidArgument(name: "count", expected: "0 or more elements for \(from)→\(to)",
                                            actual: "\(count)")
        }
        let n = count
        switch (from, to) {
        case (.f32, .f32), (.f16, .f16), (.bf16, .bf16):
            dst.copyMemory(from: src, byteCount: n * from.blockBytes)
        case (.bf16, .f32):
            omni_bf16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), n)
        case (.f16, .f32):
            omni_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst.assumingMemoryBound(to: Float.self), n)
        case (.f32, .bf16):
            omni_f32_to_bf16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), n)
        case (.f32, .f16):
            omni_f32_to_f16(src.assumingMemoryBound(to: Float.self), dst.assumingMemoryBound(to: UInt16.self), n)
        default:
            // f16 ↔ bf16 through an f32 block on the stack-sized scratch.
            let block = 4096
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: block)
            defer { tmp.deallocate() }
            let s = src.assumingMemoryBound(to: UInt16.self)
            let d = dst.assumingMemoryBound(to: UInt16.self)
            var i = 0
            while i < n {
                let m = min(block, n - i)
                if from == .f16 { omni_f16_to_f32(s + i, tmp, m) } else { omni_bf16_to_f32(s + i, tmp, m) }
                if to == .f16 { omni_f32_to_f16(tmp, d + i, m) } else { omni_f32_to_bf16(tmp, d + i, m) }
                i += m
            }
        }
    }
}

extension StandardConverter {
    /// The CPU path the kernels use on this machine (`avx512`, `avx2`, `portable`).
    public static var cpuPath: String { String(cString: omni_cpu_path()) }
}
