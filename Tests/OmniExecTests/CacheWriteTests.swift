import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The KV cache is written by `cacheWrite` graph nodes: a prompt split into a prefill and single-token decode
/// steps must give the rows a one-shot run gives, and every layer's slot must advance by each step's length.
final class CacheWriteTests: XCTestCase {
    let registry = BuiltinPlugins.registry()
    let layers = 2, d = 16, heads = 4, kvHeads = 2, hd = 4

    var stack: ToyAttentionStack { ToyAttentionStack(layers: layers, d: d, heads: heads, kvHeads: kvHeads, headDim: hd) }

    /// x [n, d] through `layers` residual attention blocks (cached in slot l, or plain causal attention).
    func graph(_ n: Int, cached: Bool) -> Graph {
        let st = stack
        return st.graph(rows: n) { g, l, q, k, v in
            g.attention(q: q, k: k, v: v, spec: st.spec(layer: l, cached: cached), name: "L\(l).attn")
        }
    }

    func weights(_ rng: inout SeededGenerator) -> InMemoryWeights { stack.weights(&rng) }

    func testGraphHasAWriteBeforeEveryCachedAttention() {
        let g = graph(3, cached: true)
        for (i, node) in g.nodes.enumerated() {
            guard case let .cachedAttention(_, written, spec) = node.op else { continue }
            XCTAssertLessThan(written.index, i)
            guard case let .cacheWrite(_, _, slot) = g[written].op else { return XCTFail("\(node.name) reads no write") }
            XCTAssertEqual(slot, spec.cacheSlot)
        }
        XCTAssertEqual(g.nodes.filter { if case .cacheWrite = $0.op { return true } else { return false } }.count, layers)
    }

    func testPrefillThenDecodeEqualsOneShotForEveryLayer() throws {
        var rng = SeededGenerator(seed: 21)
        let t = 9, prompt = 5
        let w = weights(&rng)
        let x = (0..<(t * d)).map { _ in rng.normal() }
        func rows(_ r: Range<Int>) -> Tensor { Tensor(Array(x[(r.lowerBound * d)..<(r.upperBound * d)]), shape: [r.count, d]) }
        let exec = Executor(registry: registry, threads: 2)
        let out = "L\(layers - 1).out"

        // The oracle: plain causal attention over the whole sequence, no cache.
        let oracle = try exec.run(graph(t, cached: false), bucket: nil, inputs: ["x": rows(0..<t)], weights: w, cache: nil,
                                  keep: [])[out]!.floats()
        // One shot into an empty cache.
        let oneCache = try KVCache(slots: layers, capacity: t, rowWidth: kvHeads * hd, device: exec.device)
        let oneShot = try exec.run(graph(t, cached: true), bucket: nil, inputs: ["x": rows(0..<t)], weights: w,
                                   cache: oneCache, keep: [])[out]!.floats()
        XCTAssertEqual((0..<layers).map { oneCache.length(of: $0) }, Array(repeating: t, count: layers))
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(oneShot, oracle), 1e-5)

        // A prefill of the prompt, then decode steps of one token through one cached plan.
        let cache = try KVCache(slots: layers, capacity: t, rowWidth: kvHeads * hd, device: exec.device)
        var split = try exec.run(graph(prompt, cached: true), bucket: nil, inputs: ["x": rows(0..<prompt)], weights: w,
                                 cache: cache, keep: [])[out]!.floats()
        XCTAssertEqual((0..<layers).map { cache.length(of: $0) }, Array(repeating: prompt, count: layers))
        let step = graph(1, cached: true)
        for i in prompt..<t {
            split += try exec.run(step, bucket: "decode", inputs: ["x": rows(i..<(i + 1))], weights: w, cache: cache,
                                  keep: [])[out]!.floats()
            XCTAssertEqual((0..<layers).map { cache.length(of: $0) }, Array(repeating: i + 1, count: layers))
        }
        XCTAssertEqual(exec.cachedPlanCount, 1)
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(split, oneShot), 1e-5)
    }

    func testAFailedRunLeavesTheCacheAsItWas() throws {
        var rng = SeededGenerator(seed: 22)
        let w = weights(&rng)
        let exec = Executor(registry: registry, threads: 1)
        let cache = try KVCache(slots: layers, capacity: 4, rowWidth: kvHeads * hd, device: exec.device)
        let x2 = Tensor((0..<(2 * d)).map { _ in rng.normal() }, shape: [2, d])
        _ = try exec.run(graph(2, cached: true), bucket: nil, inputs: ["x": x2], weights: w, cache: cache, keep: [])
        // Layer 0 writes its slot, then layer 1's weights are missing: the step is undone in every slot.
        var partial = w.tensors
        partial["L1.wq"] = nil
        XCTAssertThrowsError(try exec.run(graph(2, cached: true), bucket: nil, inputs: ["x": x2], weights: InMemoryWeights(partial),
                                          cache: cache, keep: []))
        XCTAssertEqual((0..<layers).map { cache.length(of: $0) }, [2, 2])
        // More tokens than the capacity: a clear error, nothing committed.
        let x3 = Tensor(zeros: [3, d])
        XCTAssertThrowsError(try exec.run(graph(3, cached: true), bucket: nil, inputs: ["x": x3], weights: w, cache: cache,
                                          keep: [])) { XCTAssertTrue("\($0)".contains("cache"), "\($0)") }
        XCTAssertEqual(cache.length, 2)
    }

    /// The cache's element type: bf16 only for a GPU in the bf16 mode, half the bytes; caches of different types do
    /// not join; the CPU executor refuses a bf16 cache with a typed error naming the node, leaving it unchanged.
    func testABF16CacheIsHalfTheBytesAndTheCPURefusesIt() throws {
        let gpu = DeviceID("cuda", index: 0)
        XCTAssertEqual(KVCache.elementType(precision: .bf16, device: gpu), .bf16)
        XCTAssertEqual(KVCache.elementType(precision: .f32, device: gpu), .f32)
        XCTAssertEqual(KVCache.elementType(precision: .bf16, device: .cpu), .f32)
        let exec = Executor(registry: registry, threads: 1)
        XCTAssertEqual(exec.cacheDType, .f32)
        let f32 = try KVCache(slots: layers, capacity: 6, rowWidth: kvHeads * hd, device: exec.device)
        let bf16 = try KVCache(slots: layers, capacity: 6, rowWidth: kvHeads * hd, device: exec.device, dtype: .bf16)
        XCTAssertEqual(bf16.dtype, .bf16)
        XCTAssertEqual(bf16.keys(0).dtype, .bf16)
        XCTAssertEqual(f32.byteCount, 2 * bf16.byteCount)
        XCTAssertEqual(bf16.byteCount, layers * 2 * 6 * kvHeads * hd * 2)
        XCTAssertThrowsError(try KVCache(slots: 1, capacity: 6, rowWidth: 8, device: exec.device, dtype: .q8_0)) {
            XCTAssertTrue("\($0)".contains("f32 or bf16"), "\($0)")
        }
        XCTAssertThrowsError(try KVCache(joining: [f32, bf16])) { XCTAssertTrue("\($0)".contains("bf16"), "\($0)") }
        var rng = SeededGenerator(seed: 23)
        let x = Tensor((0..<(2 * d)).map { _ in rng.normal() }, shape: [2, d])
        XCTAssertThrowsError(try exec.run(graph(2, cached: true), bucket: nil, inputs: ["x": x], weights: weights(&rng),
                                          cache: bf16, keep: [])) { e in
            XCTAssertTrue("\(e)".contains("an f32 KV cache") && "\(e)".contains("bf16"), "\(e)")
        }
        XCTAssertEqual(bf16.length, 0)
    }
}
