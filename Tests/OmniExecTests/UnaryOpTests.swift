import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The `unary` op kinds (ECAPA's ReLU, sigmoid, tanh and clamped sqrt) against their direct Float64 formulas.
final class UnaryOpTests: XCTestCase {
    func testEveryKindMatchesItsFormula() throws {
        var rng = SeededGenerator(seed: 21)
        let x = (0..<24).map { _ in rng.normal() * 4 } + [0, -0.0, 1e-14, -1e-14]
        let kinds: [(String, UnaryKind, (Double) -> Double)] = [
            ("relu", .relu, { max($0, 0) }),
            ("sigmoid", .sigmoid, { 1 / (1 + exp(-$0)) }),
            ("tanh", .tanh, { tanh($0) }),
            ("sqrt", .sqrt(floor: 1e-12), { max($0, Double(Float(1e-12))).squareRoot() }),
        ]
        var g = Graph()
        let xi = g.input("x", shape: [4, 7])
        for (name, kind, _) in kinds { g.markOutput(g.unary(xi, kind, name: name)) }
        let r = try Executor(registry: BuiltinPlugins.registry(), threads: 1)
            .run(ExecutionPlan(graph: g), inputs: ["x": Tensor(x, shape: [4, 7])], weights: InMemoryWeights([:]))
        for (name, _, f) in kinds {
            let y = try XCTUnwrap(r[name]).floats()
            XCTAssertEqual(y.count, x.count)
            for (i, v) in x.enumerated() {
                let want = f(Double(v))
                XCTAssertEqual(Double(y[i]), want, accuracy: 2e-7 * max(1, abs(want)), "\(name)(\(v))")
            }
        }
        // sqrt's floor is applied before the root: negative variances become sqrt(floor), never NaN.
        XCTAssertEqual(try r["sqrt"]!.floats()[x.count - 1], Float(1e-12).squareRoot())
    }
}
