import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// Softmax, concat, slice, permute, GELU and conv1d against direct formulas.
final class LayoutOpTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    func run(_ g: Graph, _ inputs: [String: Tensor], _ weights: [String: Tensor] = [:]) throws -> GraphResult {
        try Executor(registry: registry).run(ExecutionPlan(graph: g), inputs: inputs, weights: InMemoryWeights(weights))
    }

    func testSoftmaxConcatSlicePermuteGelu() throws {
        var rng = SeededGenerator(seed: 11)
        let a = (0..<12).map { _ in rng.normal() * 3 }, b = (0..<8).map { _ in rng.normal() }
        var g = Graph()
        let ai = g.input("a", shape: [3, 4]), bi = g.input("b", shape: [2, 4])
        g.markOutput(g.softmax(ai, name: "sm"))
        g.markOutput(g.concat([ai, bi], axis: 0, name: "cat0"))
        let a2 = g.input("a2", shape: [4, 3])
        g.markOutput(g.concat([ai, g.permute(a2, [1, 0], name: "t")], axis: 1, name: "cat1"))
        g.markOutput(g.slice(ai, axis: 1, 1..<3, name: "sl"))
        g.markOutput(g.gelu(ai, tanh: false, name: "ge"))
        g.markOutput(g.gelu(ai, tanh: true, name: "gt"))
        let r = try run(g, ["a": Tensor(a, shape: [3, 4]), "b": Tensor(b, shape: [2, 4]), "a2": Tensor(a, shape: [4, 3])])
        let sm = try r["sm"]!.floats()
        for i in 0..<3 {
            let row = a[(i * 4)..<(i * 4 + 4)].map(Double.init)
            let e = row.map { exp($0 - row.max()!) }
            for j in 0..<4 { XCTAssertEqual(Double(sm[i * 4 + j]), e[j] / e.reduce(0, +), accuracy: 1e-6) }
        }
        XCTAssertEqual(try r["cat0"]!.floats(), a + b)
        var cat1: [Float] = [], sliced: [Float] = []
        for i in 0..<3 {
            for j in 0..<4 { cat1.append(a[i * 4 + j]) }
            for j in 0..<4 { cat1.append(a[j * 3 + i]) }      // row i of a2ᵀ
            sliced += [a[i * 4 + 1], a[i * 4 + 2]]
        }
        XCTAssertEqual(try r["cat1"]!.floats(), cat1)
        XCTAssertEqual(try r["sl"]!.floats(), sliced)
        let ge = try r["ge"]!.floats(), gt = try r["gt"]!.floats()
        for (i, v) in a.enumerated() {
            let x = Double(v)
            XCTAssertEqual(Double(ge[i]), 0.5 * x * (1 + erf(x / 2.squareRoot())), accuracy: 1e-5)
            XCTAssertEqual(Double(gt[i]), 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))), accuracy: 1e-5)
        }
    }

    func testConv1dMatchesDirectSumWithStridePaddingDilationGroups() throws {
        try checkConv1d([(4, 6, 3, 11, 1, 1, 1, 1), (4, 6, 3, 11, 2, 1, 1, 1), (6, 4, 5, 17, 1, 4, 2, 2), (3, 3, 3, 9, 1, 1, 1, 3)])
    }

    /// Each conv1d path on several column tiles: shifted GEMMs (≥ 64 input channels, stride 1, with dilation and
    /// padding) and tiled im2col (stride 1 and 2, groups), with the tile sizes shrunk so that short inputs cross tiles;
    /// then the same shapes through the whole-im2col path.
    func testConv1dPathsAcrossColumnTiles() throws {
        let shapes = [(64, 5, 3, 40, 1, 3, 3, 1), (64, 3, 1, 37, 1, 0, 1, 1), (4, 6, 3, 40, 1, 2, 2, 1), (6, 4, 5, 40, 2, 4, 2, 2)]
        let (whole, tile) = (Kernels.im2colWholeFloats, Kernels.convTileFloats)
        defer { (Kernels.im2colWholeFloats, Kernels.convTileFloats) = (whole, tile); Executor.convolutionThreading = .pool }
        (Kernels.im2colWholeFloats, Kernels.convTileFloats) = (256, 64)
        try checkConv1d(shapes)
        Executor.convolutionThreading = .wholeIm2col
        try checkConv1d(shapes)
    }

    func checkConv1d(_ cases: [(Int, Int, Int, Int, Int, Int, Int, Int)]) throws {
        var rng = SeededGenerator(seed: 12)
        for (cin, cout, k, len, s, p, d, groups) in cases {
            let x = (0..<(cin * len)).map { _ in rng.normal() }
            let w = (0..<(cout * cin / groups * k)).map { _ in rng.normal() }
            let bias = (0..<cout).map { _ in rng.normal() }
            var g = Graph()
            let xi = g.input("x", shape: [cin, len])
            let y = g.conv1d(xi, g.weight("w", shape: [cout, cin / groups, k]), bias: g.weight("b", shape: [cout]),
                             stride: s, padding: p, dilation: d, groups: groups, name: "y")
            g.markOutput(y)
            let lOut = g[y].shape[1]
            let got = try run(g, ["x": Tensor(x, shape: [cin, len])],
                              ["w": Tensor(w, shape: [cout, cin / groups, k]), "b": Tensor(bias, shape: [cout])])["y"]!.floats()
            let cg = cin / groups, og = cout / groups
            for co in 0..<cout { for l in 0..<lOut {
                var acc = Double(bias[co])
                let grp = co / og
                for ci in 0..<cg { for kk in 0..<k {
                    let pos = l * s - p + kk * d
                    if pos >= 0 && pos < len { acc += Double(w[(co * cg + ci) * k + kk]) * Double(x[(grp * cg + ci) * len + pos]) }
                } }
                XCTAssertEqual(Double(got[co * lOut + l]), acc, accuracy: 1e-4, "conv \(cin)->\(cout) k\(k) s\(s) p\(p) d\(d) g\(groups)")
            } }
        }
    }
}
