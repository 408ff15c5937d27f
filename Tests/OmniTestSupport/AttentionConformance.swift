import Foundation
import OmniCore

/// The conformance suite every attention backend runs: random problems with odd lengths, GQA ratios 1/2/7,
/// causal masks with key offsets (decode), block-diagonal segments, sliding windows and explicit masks,
/// compared with an oracle backend (eager) and with a straightforward double-precision reference.
public enum AttentionConformance {
    /// One generated problem.
    public struct Problem: CustomStringConvertible {
        public var shape: AttentionShape
        public var mask: AttentionMask
        public var label: String
        public var description: String { "\(label) (\(shape))" }
    }

    /// The problem set (deterministic).
    public static func problems() -> [Problem] {
        var out: [Problem] = []
        var rng = SeededGenerator(seed: 42)
        for (heads, kv) in [(4, 4), (4, 2), (14, 2)] {           // GQA ratios 1, 2, 7
            for hd in [8, 13, 64] {
                let q = Int.random(in: 1...37, using: &rng), k = q
                out.append(Problem(shape: .init(queryLength: q, keyLength: k, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: .none, label: "full"))
                out.append(Problem(shape: .init(queryLength: q, keyLength: k, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: .causal(), label: "causal"))
                let off = Int.random(in: 1...50, using: &rng), ql = Int.random(in: 1...5, using: &rng)
                out.append(Problem(shape: .init(queryLength: ql, keyLength: off + ql, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: .causal(offset: off), label: "causal+offset \(off)"))
                let n = 29 + Int.random(in: 0...100, using: &rng)
                let cut1 = n / 3, cut2 = n / 3 + 1 + n / 4
                out.append(Problem(shape: .init(queryLength: n, keyLength: n, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: AttentionMask(segments: [0, cut1, cut2, n]), label: "segments"))
                out.append(Problem(shape: .init(queryLength: n, keyLength: n, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: AttentionMask(causal: true, window: 7), label: "causal+window 7"))
                var explicit = [Float](repeating: 0, count: 9 * 300)
                for i in 0..<explicit.count where Int.random(in: 0..<4, using: &rng) == 0 { explicit[i] = -.infinity }
                for r in 0..<9 { explicit[r * 300] = 0 }                 // no empty row
                out.append(Problem(shape: .init(queryLength: 9, keyLength: 300, heads: heads, kvHeads: kv, headDim: hd),
                                   mask: AttentionMask(explicit: Tensor(explicit, shape: [9, 300])), label: "explicit, 300 keys (several tiles)"))
            }
        }
        return out
    }

    /// Runs `backend` and `oracle` on every problem the backend supports; returns failure descriptions
    /// (empty when conformant) and how many problems ran.
    public static func check(_ backend: any AttentionBackend, oracle: any AttentionBackend,
                             tolerance: Float = 1e-5, threads: Int = 2) throws -> (failures: [String], ran: Int) {
        var failures: [String] = []
        var ran = 0
        var rng = SeededGenerator(seed: 7)
        for p in problems() {
            if backend.unsupportedReason(shape: p.shape, mask: p.mask) != nil { continue }
            ran += 1
            let s = p.shape
            // Row strides larger than the packed width, as a KV cache or fused QKV would have.
            let qs = s.heads * s.headDim + 3, ks = s.kvHeads * s.headDim + 5
            let q = (0..<(s.queryLength * qs)).map { _ in rng.normal() }
            let k = (0..<(s.keyLength * ks)).map { _ in rng.normal() }
            let v = (0..<(s.keyLength * ks)).map { _ in rng.normal() }
            let ours = try run(backend, p, q, qs, k, v, ks, threads)
            let ref = try run(oracle, p, q, qs, k, v, ks, threads)
            let exact = reference(p, q, qs, k, v, ks)
            let e1 = Tolerance.relativeMaxError(ours, ref), e2 = Tolerance.relativeMaxError(ours, exact)
            if !(e1 <= tolerance) { failures.append("\(backend.name) vs \(oracle.name): \(p): rel err \(e1)") }
            if !(e2 <= tolerance) { failures.append("\(backend.name) vs float64 reference: \(p): rel err \(e2)") }
        }
        return (failures, ran)
    }

    static func run(_ b: any AttentionBackend, _ p: Problem, _ q: [Float], _ qs: Int, _ k: [Float], _ v: [Float],
                    _ ks: Int, _ threads: Int) throws -> [Float] {
        let s = p.shape
        let out = Tensor([Float](repeating: .nan, count: s.queryLength * s.heads * s.headDim), shape: [s.queryLength, s.heads * s.headDim])
        // Q and K/V rows may be wider than the heads they hold (row strides qs, ks), as views into fused projections are.
        let scratch = Tensor(zeros: [max(1, b.scratchBytes(for: s, threads: threads))], dtype: .u8)
        try b.run(AttentionCall(shape: s, mask: p.mask, q: Tensor(q, shape: [s.queryLength, qs]),
                                k: Tensor(k, shape: [s.keyLength, ks]), v: Tensor(v, shape: [s.keyLength, ks]),
                                out: out, scratch: scratch, threads: threads))
        return try out.floats()
    }

    /// Straightforward attention in Double: the definition, with the mask via `allows` and the explicit mask.
    static func reference(_ p: Problem, _ q: [Float], _ qs: Int, _ k: [Float], _ v: [Float], _ ks: Int) -> [Float] {
        let s = p.shape, hd = s.headDim, group = s.heads / s.kvHeads
        var out = [Float](repeating: 0, count: s.queryLength * s.heads * hd)
        let explicit = p.mask.explicit.flatMap { try? $0.floats() }
        for h in 0..<s.heads {
            let kvh = h / group
            for i in 0..<s.queryLength {
                var scores = [Double](repeating: -.infinity, count: s.keyLength)
                for j in 0..<s.keyLength where p.mask.allows(query: i, key: j) {
                    var dot = 0.0
                    for d in 0..<hd { dot += Double(q[i * qs + h * hd + d]) * Double(k[j * ks + kvh * hd + d]) }
                    scores[j] = dot * Double(s.scale) + Double(explicit?[i * s.keyLength + j] ?? 0)
                }
                let m = scores.max() ?? -.infinity
                guard m > -.infinity else { continue }
                let e = scores.map { Foundation.exp($0 - m) }
                let sum = e.reduce(0, +)
                for d in 0..<hd {
                    var acc = 0.0
                    for j in 0..<s.keyLength where e[j] > 0 { acc += e[j] * Double(v[j * ks + kvh * hd + d]) }
                    out[i * s.heads * hd + h * hd + d] = Float(acc / sum)
                }
            }
        }
        return out
    }
}
