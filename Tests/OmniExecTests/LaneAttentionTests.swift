import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// A batched decode step's per-lane attention (rows, cacheWrite, cachedAttention per lane, then a concat: the pattern
/// `DecoderStack.laneAttention` builds) runs as one group in the CPU executor: every lane's rows equal that lane
/// decoded alone bit for bit, step after step, for both attention backends, and keeping an intermediate falls back to
/// the nodes one by one with the same bits.
final class LaneAttentionTests: XCTestCase {
    let registry = BuiltinPlugins.registry()
    let layers = 2, d = 16, heads = 4, kvHeads = 2, hd = 4

    var stack: ToyAttentionStack { ToyAttentionStack(layers: layers, d: d, heads: heads, kvHeads: kvHeads, headDim: hd) }

    /// x [B, d] through `layers` residual attention blocks; lane b reads and writes cache slot b·layers + l
    /// (one lane: slot l and one `attention` node, as a session decodes alone).
    func graph(lanes: Int, backend: String) -> Graph {
        let st = stack, layers = layers
        return st.graph(rows: lanes) { g, l, q, k, v in
            var spec = st.spec(layer: l, cached: true, backendChain: [backend])
            if lanes == 1 { return g.attention(q: q, k: k, v: v, spec: spec, name: "L\(l).attn") }
            var outs: [ValueID] = []
            for b in 0..<lanes {
                spec.cacheSlot = b * layers + l
                let qb = g.rows(q, b..<(b + 1), name: "L\(l).attn.q.b\(b)")
                let kb = g.rows(k, b..<(b + 1), name: "L\(l).attn.k.b\(b)")
                let vb = g.rows(v, b..<(b + 1), name: "L\(l).attn.v.b\(b)")
                outs.append(g.attention(q: qb, k: kb, v: vb, spec: spec, name: "L\(l).attn.b\(b)"))
            }
            return g.concat(outs, axis: 0, name: "L\(l).attn")
        }
    }

    func weights(_ rng: inout SeededGenerator) -> InMemoryWeights { stack.weights(&rng) }

    func testGroupIsFoundOncePerLayer() {
        let g = graph(lanes: 8, backend: "eager")
        let groups = LaneAttentionGroups(graph: g).groups
        XCTAssertEqual(groups.count, layers)
        XCTAssertEqual(groups.values.map(\.lanes.count), [8, 8])
        XCTAssertEqual(groups.values.flatMap { $0.lanes.map(\.slot) }.sorted(), Array(0..<(8 * layers)))
        XCTAssertTrue(LaneAttentionGroups(graph: graph(lanes: 1, backend: "eager")).groups.isEmpty)
    }

    func testLanesEqualEachSessionAloneBitForBit() throws {
        for backend in ["eager", "flash_attention_2"] {
            var rng = SeededGenerator(seed: 31)
            let w = weights(&rng)
            let lanes = 8, steps = 5
            let xs = (0..<(steps * lanes * d)).map { _ in rng.normal() }
            func row(_ step: Int, _ b: Int) -> [Float] { Array(xs[((step * lanes + b) * d)..<((step * lanes + b + 1) * d)]) }
            let exec = Executor(registry: registry, threads: 2)
            let alone = Executor(registry: registry, threads: 2)
            let batched = exec.plan(graph(lanes: lanes, backend: backend)), single = alone.plan(graph(lanes: 1, backend: backend))
            // Fused (no kept names) and one by one (an intermediate kept), each on caches of its own.
            for keep in [Set<String>(), ["L0.attn.b3"]] {
                let own = try (0..<lanes).map { _ in try KVCache(slots: layers, capacity: steps, rowWidth: kvHeads * hd, device: exec.device) }
                let solo = try (0..<lanes).map { _ in try KVCache(slots: layers, capacity: steps, rowWidth: kvHeads * hd, device: alone.device) }
                let before = exec.laneAttentionRuns
                for step in 0..<steps {
                    let x = Tensor((0..<lanes).flatMap { row(step, $0) }, shape: [lanes, d])
                    let r = try exec.run(batched, inputs: ["x": x], weights: w, cache: try KVCache(joining: own), keep: keep)
                    let got = try r["L\(layers - 1).out"]!.floats()
                    for b in 0..<lanes {
                        let one = try alone.run(single, inputs: ["x": Tensor(row(step, b), shape: [1, d])], weights: w, cache: solo[b])
                        XCTAssertEqual(Array(got[(b * d)..<((b + 1) * d)]), try one["L\(layers - 1).out"]!.floats(),
                                       "\(backend) keep \(keep), step \(step), lane \(b)")
                    }
                }
                // Keeping layer 0's intermediate runs that layer's nodes one by one; layer 1 still runs as a group.
                XCTAssertEqual(exec.laneAttentionRuns - before, keep.isEmpty ? steps * layers : steps * (layers - 1),
                               "\(backend) keep \(keep)")
                for b in 0..<lanes { XCTAssertEqual(own[b].slotLengths, Array(repeating: steps, count: layers)) }
            }
        }
    }
}
