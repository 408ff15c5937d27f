import CBLAS
import CKernels
import Dispatch
import OmniCore

/// `eager`: materializes the full score matrix per head (S = scale·Q·Kᵀ + mask, softmax in f32, O = P·V),
/// exactly as transformers' `eager_attention_forward` does. The oracle every other backend is checked against.
/// Scratch: one [qLen, kvLen] score matrix per worker thread.
public struct EagerAttention: AttentionBackend {
    public init() {}
    public var name: String { "eager" }

    public var capabilities: AttentionCapabilities {
        AttentionCapabilities(dtypes: [.f32], maxHeadDim: 1024, maskKinds: Set(AttentionMaskKind.allCases),
                              groupedQuery: true)
    }

    public func scratchBytes(for shape: AttentionShape, threads: Int) -> Int {
        min(threads, shape.heads) * shape.queryLength * shape.keyLength * 4
    }

    public func run(_ c: AttentionCall) throws {
        let s = c.shape
        let qLen = s.queryLength, kvLen = s.keyLength, hd = s.headDim
        let group = s.heads / s.kvHeads
        let workers = max(1, min(c.threads, s.heads))
        let call = try c.cpuView()
        let scratch = try call.scratch(floats: workers * qLen * kvLen)
        let ranges = (0..<qLen).map { c.mask.keyRange(query: $0, keyLength: kvLen) }
        let explicit = call.explicit
        c.forEach(workers) { w in
            let scores = scratch + w * qLen * kvLen
            var h = w
            while h < s.heads {
                let kvh = h / group
                let q = call.q + h * hd, k = call.k + kvh * hd, v = call.v + kvh * hd
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(qLen), Int32(kvLen), Int32(hd), s.scale,
                            q, Int32(call.qRowStride), k, Int32(call.kRowStride), 0, scores, Int32(kvLen))
                for i in 0..<qLen {
                    let row = scores + i * kvLen
                    let r = ranges[i]
                    if let e = explicit { for j in r { row[j] += e[i * kvLen + j] } }
                    if r.isEmpty {
                        for j in 0..<kvLen { row[j] = 0 }
                        continue
                    }
                    let m = omni_max(row + r.lowerBound, r.count)
                    var sum = Float(0)
                    if m == -Float.infinity { for j in r { row[j] = 0 } } else {
                        sum = omni_exp_sub_sum(row + r.lowerBound, r.count, m)
                    }
                    let inv = sum > 0 ? 1 / sum : 0
                    for j in 0..<r.lowerBound { row[j] = 0 }
                    for j in r.upperBound..<kvLen { row[j] = 0 }
                    omni_scale(row + r.lowerBound, inv, r.count)
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(qLen), Int32(hd), Int32(kvLen), 1,
                            scores, Int32(kvLen), v, Int32(call.vRowStride), 0, call.out + h * hd, Int32(call.outRowStride))
                h += workers
            }
        }
        withExtendedLifetime(c) {}
    }
}
