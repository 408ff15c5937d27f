import BuiltinPlugins
import CKernels
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// Executor planning and kernels against straightforward references.
final class ExecutorTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    func random(_ n: Int, _ rng: inout SeededGenerator, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in rng.normal() * scale }
    }

    func naiveLinear(_ x: [Float], _ w: [Float], t: Int, inF: Int, outF: Int) -> [Float] {
        var y = [Float](repeating: 0, count: t * outF)
        for r in 0..<t { for o in 0..<outF {
            var s = 0.0
            for i in 0..<inF { s += Double(x[r * inF + i]) * Double(w[o * inF + i]) }
            y[r * outF + o] = Float(s)
        } }
        return y
    }

    /// A weight tensor of `dtype` holding `w` (rounded/quantized by the registry's converters).
    func weight(_ w: [Float], shape: Shape, dtype: DType) throws -> (Tensor, [Float]) {
        let f = Tensor(w, shape: shape)
        if dtype == .f32 { return (f, w) }
        let t = Tensor(zeros: shape, dtype: dtype)
        try registry.converter(from: .f32, to: dtype).convert(f.rawPointer, from: .f32, to: t.mutableRawPointer, dtype, count: w.count)
        let back = Tensor(zeros: shape)
        try registry.converter(from: dtype, to: .f32).convert(t.rawPointer, from: dtype, to: back.mutableRawPointer, .f32, count: w.count)
        return (t, try back.floats())
    }

    /// `releaseBuffers` (through the protocol, as `omni bench long-video` calls it) frees the grow-only arena, so a
    /// later run's peak is its own; the next run allocates again and gives the same result.
    func testReleaseBuffersFreesTheArenaAndTheNextRunIsUnchanged() throws {
        var rng = SeededGenerator(seed: 3)
        let t = 8, inF = 32, outF = 16
        var g = Graph()
        let x = g.input("x", shape: [t, inF])
        let h = g.linear(x, g.weight("w1", shape: [outF, inF]), name: "h")
        g.markOutput(g.linear(h, g.weight("w2", shape: [outF, outF]), name: "y"))
        let weights = InMemoryWeights(["w1": Tensor(random(outF * inF, &rng), shape: [outF, inF]),
                                       "w2": Tensor(random(outF * outF, &rng), shape: [outF, outF])])
        let inputs = ["x": Tensor(random(t * inF, &rng), shape: [t, inF])]
        let exec: any GraphExecutor = Executor(registry: registry, threads: 2)
        let first = try exec.run(g, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])["y"]!.floats()
        XCTAssertGreaterThan(exec.device.memory.report().current[.activations] ?? 0, 0)
        exec.releaseBuffers()
        XCTAssertEqual(exec.device.memory.report().current[.activations] ?? 0, 0)
        let again = try exec.run(g, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])["y"]!.floats()
        XCTAssertEqual(first, again)
    }

    func testLinearMatchesNaiveForEveryWeightDTypeDecodeAndPrefill() throws {
        var rng = SeededGenerator(seed: 1)
        let inF = 96, outF = 67
        for dtype in [DType.f32, .f16, .bf16, .q8_0, .q4_0] {
            for t in [1, 2, 5, 20] {
                let x = random(t * inF, &rng)
                let (w, wValues) = try weight(random(outF * inF, &rng, scale: 0.1), shape: [outF, inF], dtype: dtype)
                var g = Graph()
                let xi = g.input("x", shape: [t, inF])
                let wi = g.weight("w", shape: [outF, inF])
                let y = g.linear(xi, wi, name: "y")
                g.markOutput(y)
                let exec = Executor(registry: registry, threads: 2)
                let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, inF])], weights: InMemoryWeights(["w": w]))
                let got = try r["y"]!.floats()
                let want = naiveLinear(x, wValues, t: t, inF: inF, outF: outF)
                // Q8_0 decode and batched decode (≤ 16 rows) quantize the activations too (as llama.cpp does), and so
                // does Q4_0 decode (≤ 2 rows): a looser bound; more rows go through SGEMM on dequantized weights.
                let tol: Float = (dtype == .q8_0 && t <= 16) || (dtype == .q4_0 && t <= 2) ? 2e-2 : 1e-5
                XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(got, want), tol, "\(dtype) T=\(t)")
            }
        }
    }

    /// Weights as llama.cpp's Q4_K_M files store them (Q4_K, Q6_K, and Q5_0 for rows that are not whole 256-value
    /// super-blocks): random blocks with finite f16 scales, against the naive product with the f32 reference
    /// dequantization of the same blocks. The tolerance is the one above for quantized activations: decode (≤ 2
    /// rows) quantizes x to Q8_K (k-quants) or Q8_0 (Q5_0) as llama.cpp does, 2e-2; more rows (batched decode and
    /// prefill) widen the weights for SGEMM, 1e-5.
    func testLinearOnLlamaCppQuantTypesMatchesTheDequantizedReference() throws {
        var rng = SeededGenerator(seed: 16)
        let outF = 67
        let cases: [(DType, Int, [Int])] = [(.q4_k, 512, [0, 2]), (.q6_k, 768, [208]), (.q5_0, 96, [0])]   // (dtype, in, f16 scale offsets)
        for (dtype, inF, scales) in cases {
            for t in [1, 2, 5, 20] {
                let blocks = outF * inF / dtype.blockElements
                let w = Tensor(zeros: [outF, inF], dtype: dtype)
                let p = w.mutableRawPointer.assumingMemoryBound(to: UInt8.self)
                for i in 0..<w.byteCount { p[i] = UInt8.random(in: 0...255, using: &rng) }
                for b in 0..<blocks {
                    for off in scales {   // a normal f16 in ±[2^-10, 2^-6)
                        let h = Float16(Float.random(in: 1...16, using: &rng) / 16384 * (Bool.random(using: &rng) ? 1 : -1))
                        p[b * dtype.blockBytes + off] = UInt8(h.bitPattern & 0xff)
                        p[b * dtype.blockBytes + off + 1] = UInt8(h.bitPattern >> 8)
                    }
                }
                let back = Tensor(zeros: [outF, inF])
                try registry.converter(from: dtype, to: .f32).convert(w.rawPointer, from: dtype, to: back.mutableRawPointer, .f32,
                                                                      count: outF * inF)
                let x = random(t * inF, &rng)
                var g = Graph()
                let xi = g.input("x", shape: [t, inF])
                let y = g.linear(xi, g.weight("w", shape: [outF, inF]), name: "y")
                g.markOutput(y)
                let exec = Executor(registry: registry, threads: 2)
                let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, inF])], weights: InMemoryWeights(["w": w]))
                let got = try r["y"]!.floats()
                let want = naiveLinear(x, try back.floats(), t: t, inF: inF, outF: outF)
                let tol: Float = t <= 2 ? 2e-2 : 1e-5
                XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(got, want), tol, "\(dtype) T=\(t)")
            }
        }
    }

    func testPoolRowsAveragesConsecutiveRowsAndDropsTheRemainder() throws {
        for (t, window) in [(7, 2), (9, 3), (4, 1), (5, 5)] {
            let d = 3
            let x = (0..<(t * d)).map { Float($0 * $0 % 11) - 4 }
            var g = Graph()
            let xi = g.input("x", shape: [t, d])
            g.markOutput(g.poolRows(xi, window: window, name: "y"))
            let exec = Executor(registry: registry, threads: 2)
            let got = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, d])], weights: InMemoryWeights([:]))["y"]!
            XCTAssertEqual(got.shape, [t / window, d])
            let want = (0..<(t / window * d)).map { i -> Float in
                let r = i / d, c = i % d
                return (0..<window).map { x[(r * window + $0) * d + c] }.reduce(0, +) / Float(window)
            }
            XCTAssertEqual(try got.floats(), want, "t \(t) window \(window)")
        }
    }

    func testGatherRowsAndReshapeOfActivationsAndWeights() throws {
        // A [2, 2, 3] bf16 "conv kernel" used as a [2, 6] matrix through a reshape view; rows gathered and an
        // activation reshaped (copied) to another shape.
        let x = (0..<18).map { Float($0) * 0.5 - 3 }
        let (w, wv) = try weight((0..<12).map { Float($0) * 0.25 - 1 }, shape: [2, 2, 3], dtype: .bf16)
        var g = Graph()
        let xi = g.input("x", shape: [3, 6])
        let y = g.linear(xi, g.reshape(g.weight("k", shape: [2, 2, 3]), [2, 6], name: "k2"), name: "y")
        let picked = g.gatherRows(xi, [2, 0, 2], name: "picked")
        g.markOutput(y)
        g.markOutput(g.reshape(picked, [9, 2], name: "flat"))
        let exec = Executor(registry: registry, threads: 2)
        let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [3, 6])], weights: InMemoryWeights(["k": w]))
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try r["y"]!.floats(), naiveLinear(x, wv, t: 3, inF: 6, outF: 2)), 1e-6)
        XCTAssertEqual(r["flat"]!.shape, [9, 2])
        XCTAssertEqual(try r["flat"]!.floats(), Array(x[12..<18]) + Array(x[0..<6]) + Array(x[12..<18]))
    }

    func testConvTranspose1dMatchesTheDefinition() throws {
        var rng = SeededGenerator(seed: 9)
        for (cin, cout, len, k, stride, pad) in [(3, 2, 5, 4, 2, 1), (2, 3, 7, 11, 5, 3), (1, 1, 4, 3, 1, 0)] {
            let x = random(cin * len, &rng), w = random(cin * cout * k, &rng), b = random(cout, &rng)
            var g = Graph()
            let y = g.convTranspose1d(g.input("x", shape: [cin, len]), g.weight("w", shape: [cin, cout, k]),
                                      bias: g.weight("b", shape: [cout]), stride: stride, padding: pad, name: "y")
            g.markOutput(y)
            let lOut = (len - 1) * stride - 2 * pad + k
            var want = [Float](repeating: 0, count: cout * lOut)
            for co in 0..<cout { for l in 0..<lOut { want[co * lOut + l] = b[co] } }
            for ci in 0..<cin { for i in 0..<len { for co in 0..<cout { for kk in 0..<k {
                let pos = i * stride + kk - pad
                if pos >= 0 && pos < lOut { want[co * lOut + pos] += x[ci * len + i] * w[(ci * cout + co) * k + kk] }
            } } } }
            let exec = Executor(registry: registry, threads: 2)
            let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [cin, len])],
                                 weights: InMemoryWeights(["w": Tensor(w, shape: [cin, cout, k]), "b": Tensor(b, shape: [cout])]))
            XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try r["y"]!.floats(), want), 1e-5, "\(cin)x\(cout) k\(k) s\(stride)")
        }
    }

    func testAttentionWithAnExplicitMaskInput() throws {
        // A DiT-style block mask (blocks of 3 frames; a query sees its block and the previous one) as an additive
        // [T, T] input, on every backend, against a Float64 softmax.
        var rng = SeededGenerator(seed: 13)
        let t = 7, heads = 2, hd = 4, w = heads * hd
        let q = random(t * w, &rng), k = random(t * w, &rng), v = random(t * w, &rng)
        var mask = [Float](repeating: 0, count: t * t)
        for i in 0..<t { for j in 0..<t where !(-1...0).contains(j / 3 - i / 3) { mask[i * t + j] = -.infinity } }
        var want = [Float](repeating: 0, count: t * w)
        for h in 0..<heads {
            for i in 0..<t {
                var scores = (0..<t).map { j -> Double in
                    var d = 0.0
                    for c in 0..<hd { d += Double(q[i * w + h * hd + c]) * Double(k[j * w + h * hd + c]) }
                    return d / Double(hd).squareRoot() + Double(mask[i * t + j])
                }
                let m = scores.max()!
                scores = scores.map { exp($0 - m) }
                let total = scores.reduce(0, +)
                for c in 0..<hd {
                    want[i * w + h * hd + c] = Float((0..<t).map { scores[$0] * Double(v[$0 * w + h * hd + c]) }.reduce(0, +) / total)
                }
            }
        }
        for backend in ["eager", "flash_attention_2"] {
            var g = Graph()
            let spec = AttentionSpec(heads: heads, kvHeads: heads, headDim: hd, causal: false, backendChain: [backend])
            g.markOutput(g.attention(q: g.input("q", shape: [t, w]), k: g.input("k", shape: [t, w]), v: g.input("v", shape: [t, w]),
                                     mask: g.input("mask", shape: [t, t]), spec: spec, name: "y"))
            let exec = Executor(registry: registry, threads: 2)
            let r = try exec.run(exec.plan(g), inputs: ["q": Tensor(q, shape: [t, w]), "k": Tensor(k, shape: [t, w]),
                                                        "v": Tensor(v, shape: [t, w]), "mask": Tensor(mask, shape: [t, t])],
                                 weights: InMemoryWeights([:]))
            XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try r["y"]!.floats(), want), 1e-5, backend)
        }
    }

    func testInterleavedRopeAndRowBroadcastMul() throws {
        // GPT-J pairs (x_2j, x_2j+1) turned by pos · θ^(−2j/hd); and a [D] scale broadcast over rows (AdaLN).
        var rng = SeededGenerator(seed: 17)
        let t = 3, heads = 2, hd = 8, w = heads * hd
        let x = random(t * w, &rng), scale = random(w, &rng)
        var g = Graph()
        let xi = g.input("x", shape: [t, w]), pos = g.input("pos", shape: [t], dtype: .i64)
        g.markOutput(g.rope(xi, positions: pos, heads: heads, headDim: hd, theta: 10000, kind: .interleaved, name: "r"))
        g.markOutput(g.mul(xi, g.input("s", shape: [w]), name: "m"))
        let exec = Executor(registry: registry, threads: 2)
        let positions: [Int64] = [0, 5, 11]
        let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, w]), "pos": Tensor(int64: positions, shape: [t]),
                                                    "s": Tensor(scale, shape: [w])], weights: InMemoryWeights([:]))
        var want = x
        for i in 0..<t {
            for h in 0..<heads {
                for j in 0..<(hd / 2) {
                    let angle = Double(positions[i]) * pow(10000, -Double(2 * j) / Double(hd))
                    let a = Double(x[i * w + h * hd + 2 * j]), b = Double(x[i * w + h * hd + 2 * j + 1])
                    want[i * w + h * hd + 2 * j] = Float(a * cos(angle) - b * sin(angle))
                    want[i * w + h * hd + 2 * j + 1] = Float(b * cos(angle) + a * sin(angle))
                }
            }
        }
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try r["r"]!.floats(), want), 1e-5)
        XCTAssertEqual(try r["m"]!.floats(), (0..<(t * w)).map { x[$0] * scale[$0 % w] })
    }

    func testPlannerReusesBuffersAndNeverAliasesLiveValues() throws {
        var g = Graph()
        var x = g.input("x", shape: [4, 8])
        let w = g.weight("w", shape: [8, 8])
        for i in 0..<10 { x = g.linear(x, w, name: "l\(i)") }
        g.markOutput(x)
        let plan = ExecutionPlan(graph: g)
        XCTAssertLessThan(plan.arenaBytes, plan.unsharedBytes / 3)
        // Every node's buffer is disjoint from its inputs' buffers.
        for (i, node) in g.nodes.enumerated() {
            guard let off = plan.offsets[i] else { continue }
            for input in node.op.inputs {
                guard let o2 = plan.offsets[input.index] else { continue }
                XCTAssertTrue(off + 128 <= o2 || o2 + 128 <= off, "node \(node.name) overlaps its input")
            }
        }
        var rng = SeededGenerator(seed: 3)
        let wv = random(64, &rng, scale: 0.3), xv = random(32, &rng)
        let r = try Executor(registry: registry).run(plan, inputs: ["x": Tensor(xv, shape: [4, 8])],
                                                     weights: InMemoryWeights(["w": Tensor(wv, shape: [8, 8])]))
        var want = xv
        for _ in 0..<10 { want = naiveLinear(want, wv, t: 4, inF: 8, outF: 8) }
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try r["l9"]!.floats(), want), 1e-5)
    }

    func testCachedDecodeEqualsFullPrefill() throws {
        // Attention over a KV cache, one token at a time, must equal causal attention over the whole sequence.
        var rng = SeededGenerator(seed: 5)
        let t = 7, heads = 4, kv = 2, hd = 8
        let q = random(t * heads * hd, &rng), k = random(t * kv * hd, &rng), v = random(t * kv * hd, &rng)
        func graph(_ n: Int, cached: Bool) -> Graph {
            var g = Graph()
            let qi = g.input("q", shape: [n, heads * hd]), ki = g.input("k", shape: [n, kv * hd]), vi = g.input("v", shape: [n, kv * hd])
            let spec = AttentionSpec(heads: heads, kvHeads: kv, headDim: hd, causal: true, cacheSlot: cached ? 0 : nil,
                                     backendChain: ["flash_attention_2"])
            g.markOutput(g.attention(q: qi, k: ki, v: vi, spec: spec, name: "o"))
            return g
        }
        let exec = Executor(registry: registry)
        let full = try exec.run(exec.plan(graph(t, cached: false)),
                                inputs: ["q": Tensor(q, shape: [t, heads * hd]), "k": Tensor(k, shape: [t, kv * hd]), "v": Tensor(v, shape: [t, kv * hd])],
                                weights: InMemoryWeights([:]))["o"]!.floats()
        let cache = try KVCache(slots: 1, capacity: t, rowWidth: kv * hd, device: exec.device)
        var steps: [Float] = []
        let plan1 = exec.plan(graph(1, cached: true))
        for i in 0..<t {
            let r = try exec.run(plan1, inputs: ["q": Tensor(Array(q[(i * heads * hd)..<((i + 1) * heads * hd)]), shape: [1, heads * hd]),
                                                 "k": Tensor(Array(k[(i * kv * hd)..<((i + 1) * kv * hd)]), shape: [1, kv * hd]),
                                                 "v": Tensor(Array(v[(i * kv * hd)..<((i + 1) * kv * hd)]), shape: [1, kv * hd])],
                                 weights: InMemoryWeights([:]), cache: cache)
            steps += try r["o"]!.floats()
        }
        XCTAssertEqual(cache.length, t)
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(steps, full), 1e-6)
        // A full cache refuses more tokens with a clear error.
        XCTAssertThrowsError(try exec.run(plan1, inputs: ["q": Tensor(zeros: [1, heads * hd]), "k": Tensor(zeros: [1, kv * hd]),
                                                          "v": Tensor(zeros: [1, kv * hd])], weights: InMemoryWeights([:]), cache: cache)) { e in
            XCTAssertTrue("\(e)".contains("cache"), "\(e)")
        }
    }

    func testRopeAndNormsAgainstFormulas() throws {
        var rng = SeededGenerator(seed: 9)
        let t = 3, heads = 2, hd = 8
        let x = random(t * heads * hd, &rng), w = random(heads * hd, &rng)
        let pos: [Int64] = [0, 5, 9, 0, 6, 9, 0, 7, 1]      // rows t, h, w differ
        var g = Graph()
        let xi = g.input("x", shape: [t, heads * hd]), p = g.input("p", shape: [3, t], dtype: .i64)
        g.markOutput(g.rope(xi, positions: p, heads: heads, headDim: hd, theta: 10000, kind: .multimodal(sections: [1, 1, 2]), name: "r"))
        let wi = g.weight("w", shape: [heads * hd])
        g.markOutput(g.rmsNorm(xi, wi, eps: 1e-6, name: "n"))
        g.markOutput(g.layerNorm(xi, wi, nil, eps: 1e-5, name: "ln"))
        let r = try Executor(registry: registry).run(ExecutionPlan(graph: g),
                                                     inputs: ["x": Tensor(x, shape: [t, heads * hd]), "p": Tensor(int64: pos, shape: [3, t])],
                                                     weights: InMemoryWeights(["w": Tensor(w, shape: [heads * hd])]))
        let rope = try r["r"]!.floats(), norm = try r["n"]!.floats(), ln = try r["ln"]!.floats()
        let section = [0, 1, 2, 2]   // frequency j → position row
        for i in 0..<t { for h in 0..<heads { for j in 0..<(hd / 2) {
            let angle = Double(pos[section[j] * t + i]) / pow(10000, Double(2 * j) / Double(hd))
            let a = Double(x[i * heads * hd + h * hd + j]), b = Double(x[i * heads * hd + h * hd + j + hd / 2])
            XCTAssertEqual(Double(rope[i * heads * hd + h * hd + j]), a * cos(angle) - b * sin(angle), accuracy: 1e-5)
            XCTAssertEqual(Double(rope[i * heads * hd + h * hd + j + hd / 2]), b * cos(angle) + a * sin(angle), accuracy: 1e-5)
        } } }
        for i in 0..<t {
            let row = x[(i * heads * hd)..<((i + 1) * heads * hd)].map(Double.init)
            let ms = row.map { $0 * $0 }.reduce(0, +) / Double(row.count)
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            for d in 0..<row.count {
                XCTAssertEqual(Double(norm[i * heads * hd + d]), row[d] / (ms + 1e-6).squareRoot() * Double(w[d]), accuracy: 1e-5)
                XCTAssertEqual(Double(ln[i * heads * hd + d]), (row[d] - mean) / (variance + 1e-5).squareRoot() * Double(w[d]), accuracy: 1e-4)
            }
        }
    }

    func testMissingInputAndWrongWeightShapeAreNamed() throws {
        var g = Graph()
        let x = g.input("x", shape: [1, 4])
        g.markOutput(g.linear(x, g.weight("layer.w", shape: [2, 4]), name: "y"))
        let exec = Executor(registry: registry)
        XCTAssertThrowsError(try exec.run(exec.plan(g), inputs: [:], weights: InMemoryWeights([:]))) { e in
            XCTAssertTrue("\(e)".contains("x"), "\(e)")
        }
        XCTAssertThrowsError(try exec.run(exec.plan(g), inputs: ["x": Tensor(zeros: [1, 4])],
                                          weights: InMemoryWeights(["layer.w": Tensor(zeros: [4, 2])]))) { e in
            XCTAssertTrue("\(e)".contains("layer.w") && "\(e)".contains("[2, 4]"), "\(e)")
        }
    }

    /// Graph outputs come back in tensors of their own (written in place, not copied out of the arena): a result
    /// keeps its values through later runs of the same plan, and a second output of one run is not the first's bytes.
    func testOutputsOutliveLaterRunsOfTheSamePlan() throws {
        var g = Graph()
        let x = g.input("x", shape: [2, 4])
        let y = g.linear(x, g.weight("w", shape: [3, 4]), name: "y")
        g.markOutput(y)
        g.markOutput(g.add(y, y, name: "z"))
        let w = InMemoryWeights(["w": Tensor((0..<12).map { Float($0) - 5 }, shape: [3, 4])])
        let exec = Executor(registry: registry, threads: 2)
        let plan = exec.plan(g)
        let first = try exec.run(plan, inputs: ["x": Tensor((0..<8).map(Float.init), shape: [2, 4])], weights: w)
        let want = try first["y"]!.floats()
        XCTAssertEqual(try first["z"]!.floats(), want.map { $0 + $0 })
        _ = try exec.run(plan, inputs: ["x": Tensor(Array(repeating: -3, count: 8), shape: [2, 4])], weights: w)
        XCTAssertEqual(try first["y"]!.floats(), want, "the first result was overwritten by the second run")
        XCTAssertEqual(try first["z"]!.floats(), want.map { $0 + $0 })
    }
}
