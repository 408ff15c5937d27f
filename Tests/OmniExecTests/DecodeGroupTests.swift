import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// Sibling decode linears (a layer's q/k/v, gate/up) run as one parallel region: same bits as one region each.
final class DecodeGroupTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    /// x [1, inF] → q [1, 3·16·… ] style siblings: three linears over one x (two with a bias), then a fourth linear
    /// over their sum so the group is followed by other work. Weights are given per key by `weights`.
    func siblings(inF: Int, outs: [Int]) -> Graph {
        var g = Graph()
        let x = g.input("x", shape: [1, inF])
        var ys: [ValueID] = []
        for (i, n) in outs.enumerated() {
            let w = g.weight("w\(i)", shape: [n, inF])
            let b = i == 1 ? nil : g.weight("b\(i)", shape: [n])
            ys.append(g.linear(x, w, bias: b, name: "y\(i)"))
        }
        for y in ys { g.markOutput(y) }
        return g
    }

    func weights(inF: Int, outs: [Int], dtypes: [DType], seed: UInt64) throws -> [String: Tensor] {
        var rng = SeededGenerator(seed: seed)
        var out: [String: Tensor] = [:]
        for (i, n) in outs.enumerated() {
            let f = Tensor((0..<(n * inF)).map { _ in rng.normal() * 0.1 }, shape: [n, inF])
            let t = Tensor(zeros: [n, inF], dtype: dtypes[i])
            try registry.converter(from: .f32, to: dtypes[i]).convert(f.rawPointer, from: .f32, to: t.mutableRawPointer,
                                                                     dtypes[i], count: n * inF)
            out["w\(i)"] = t
            if i != 1 { out["b\(i)"] = Tensor((0..<n).map { _ in rng.normal() }, shape: [n]) }
        }
        return out
    }

    func testDecoderLayerShapesFindQKVAndGateUp() {
        var g = Graph()
        let x = g.input("x", shape: [1, 64])
        let q = g.linear(x, g.weight("q", shape: [64, 64]), bias: g.weight("qb", shape: [64]), name: "q.out")
        let k = g.linear(x, g.weight("k", shape: [16, 64]), bias: g.weight("kb", shape: [16]), name: "k.out")
        let v = g.linear(x, g.weight("v", shape: [16, 64]), bias: g.weight("vb", shape: [16]), name: "v.out")
        let h = g.add(q, g.concat([k, v, k, v], axis: 1, name: "kv"), name: "h")
        let gate = g.linear(h, g.weight("gate", shape: [128, 64]), name: "gate.out")
        let up = g.linear(h, g.weight("up", shape: [128, 64]), name: "up.out")
        let act = g.swiglu(gate: gate, up: up, name: "act")
        g.markOutput(g.linear(act, g.weight("down", shape: [64, 128]), name: "down.out"))
        let groups = DecodeGroups(graph: g).groups
        XCTAssertEqual(groups.count, 2)
        let names = groups.values.map { $0.members.map { g.nodes[$0].name } }.sorted { $0.count > $1.count }
        XCTAssertEqual(names, [["q.out", "k.out", "v.out"], ["gate.out", "up.out"]])
        // Up to 16 rows (a batched decode step: the small-batch path) are grouped; prefill rows beyond that are not
        // (the GEMM path takes them).
        for (rows, grouped) in [(4, true), (16, true), (17, false)] {
            var p = Graph()
            let xp = p.input("x", shape: [rows, 64])
            p.markOutput(p.linear(xp, p.weight("a", shape: [8, 64]), name: "a.out"))
            p.markOutput(p.linear(xp, p.weight("b", shape: [8, 64]), name: "b.out"))
            XCTAssertEqual(DecodeGroups(graph: p).groups.count, grouped ? 1 : 0, "\(rows) rows")
        }
    }

    /// x [rows, inF] → the same three siblings as `siblings`.
    func siblings(rows: Int, inF: Int, outs: [Int]) -> Graph {
        var g = Graph()
        let x = g.input("x", shape: [rows, inF])
        for (i, n) in outs.enumerated() {
            let b = i == 1 ? nil : g.weight("b\(i)", shape: [n])
            g.markOutput(g.linear(x, g.weight("w\(i)", shape: [n, inF]), bias: b, name: "y\(i)"))
        }
        return g
    }

    /// A batched decode step's siblings (8 rows; 2 rows too) run as one small-batch region: the same bits as each
    /// linear alone, and every row the same bits as that row decoded alone (one-row group).
    func testSmallBatchGroupEqualsEachLinearAndEachRowBitForBit() throws {
        let inF = 96, outs = [200, 48, 48]
        for dtype in [DType.f32, .bf16, .q8_0] {
            let w = try weights(inF: inF, outs: outs, dtypes: Array(repeating: dtype, count: 3), seed: 13)
            for rows in [2, 8] {
                var rng = SeededGenerator(seed: 17)
                let xv = (0..<(rows * inF)).map { _ in rng.normal() }
                let x = Tensor(xv, shape: [rows, inF])
                let exec = Executor(registry: registry, threads: 2)
                let provider = InMemoryWeights(w)
                let before = exec.decodeGroupRuns
                let fused = try exec.run(exec.plan(siblings(rows: rows, inF: inF, outs: outs)), inputs: ["x": x], weights: provider)
                XCTAssertEqual(exec.decodeGroupRuns, before + 1, "\(dtype) \(rows) rows: the three linears ran as one group")
                for (i, n) in outs.enumerated() {
                    var g = Graph()
                    let xi = g.input("x", shape: [rows, inF])
                    g.markOutput(g.linear(xi, g.weight("w\(i)", shape: [n, inF]), bias: i == 1 ? nil : g.weight("b\(i)", shape: [n]),
                                          name: "y\(i)"))
                    let alone = try exec.run(exec.plan(g), inputs: ["x": x], weights: provider)
                    XCTAssertEqual(try fused["y\(i)"]!.floats(), try alone["y\(i)"]!.floats(), "\(dtype) \(rows) rows y\(i)")
                }
                let single = try exec.plan(siblings(rows: 1, inF: inF, outs: outs))
                for r in 0..<rows {
                    let one = try exec.run(single, inputs: ["x": Tensor(Array(xv[(r * inF)..<((r + 1) * inF)]), shape: [1, inF])],
                                           weights: provider)
                    for (i, n) in outs.enumerated() {
                        XCTAssertEqual(Array(try fused["y\(i)"]!.floats()[(r * n)..<((r + 1) * n)]), try one["y\(i)"]!.floats(),
                                       "\(dtype) row \(r) of \(rows) y\(i)")
                    }
                }
            }
        }
    }

    func testGroupEqualsOneRegionPerLinearBitForBit() throws {
        let inF = 96, outs = [200, 48, 48]
        for dtype in [DType.f32, .f16, .bf16, .q8_0, .q4_0] {
            let w = try weights(inF: inF, outs: outs, dtypes: Array(repeating: dtype, count: 3), seed: 7)
            var rng = SeededGenerator(seed: 9)
            let x = Tensor((0..<inF).map { _ in rng.normal() }, shape: [1, inF])
            let exec = Executor(registry: registry, threads: 2)
            let before = exec.decodeGroupRuns
            let fused = try exec.run(exec.plan(siblings(inF: inF, outs: outs)), inputs: ["x": x], weights: InMemoryWeights(w))
            XCTAssertEqual(exec.decodeGroupRuns, before + 1, "\(dtype): the three linears ran as one group")
            for (i, n) in outs.enumerated() {
                // The same linear alone in its own graph: one region, the path main ran every linear on.
                var g = Graph()
                let xi = g.input("x", shape: [1, inF])
                g.markOutput(g.linear(xi, g.weight("w\(i)", shape: [n, inF]), bias: i == 1 ? nil : g.weight("b\(i)", shape: [n]),
                                      name: "y\(i)"))
                let alone = try exec.run(exec.plan(g), inputs: ["x": x], weights: InMemoryWeights(w))
                XCTAssertEqual(try fused["y\(i)"]!.floats(), try alone["y\(i)"]!.floats(), "\(dtype) y\(i)")
            }
        }
    }

    func testMixedDTypesFallBackToOneRegionEach() throws {
        let inF = 64, outs = [32, 16, 16]
        let w = try weights(inF: inF, outs: outs, dtypes: [.bf16, .q8_0, .bf16], seed: 11)
        let x = Tensor((0..<inF).map { Float($0 % 7) - 3 }, shape: [1, inF])
        let exec = Executor(registry: registry, threads: 2)
        let r = try exec.run(exec.plan(siblings(inF: inF, outs: outs)), inputs: ["x": x], weights: InMemoryWeights(w))
        XCTAssertEqual(exec.decodeGroupRuns, 0, "weights of two dtypes cannot share one prepared x")
        for (i, n) in outs.enumerated() {
            let wf = Tensor(zeros: [n, inF])
            let src = w["w\(i)"]!
            try registry.converter(from: src.dtype, to: .f32).convert(src.rawPointer, from: src.dtype, to: wf.mutableRawPointer,
                                                                       .f32, count: n * inF)
            let wv = try wf.floats(), xv = try x.floats(), bv = try w["b\(i)"]?.floats()
            let want = (0..<n).map { o in (0..<inF).reduce(Float(0)) { $0 + wv[o * inF + $1] * xv[$1] } + (bv?[o] ?? 0) }
            XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try r["y\(i)"]!.floats(), want), 2e-2, "y\(i)")
        }
    }
}
