import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// `reflectPad` against the direct index formula of torch's reflect padding (ECAPA's `padding="same"` convs).
final class ReflectPadTests: XCTestCase {
    func testMatchesTheMirrorFormula() throws {
        var rng = SeededGenerator(seed: 22)
        for (c, len, left, right) in [(3, 5, 2, 2), (2, 9, 4, 4), (1, 2, 1, 0), (2, 6, 0, 3), (4, 7, 3, 2)] {
            let x = (0..<(c * len)).map { _ in rng.normal() }
            var g = Graph()
            g.markOutput(g.reflectPad(g.input("x", shape: [c, len]), left: left, right: right, name: "y"))
            let r = try Executor(registry: BuiltinPlugins.registry(), threads: 1)
                .run(ExecutionPlan(graph: g), inputs: ["x": Tensor(x, shape: [c, len])], weights: InMemoryWeights([:]))
            let y = try XCTUnwrap(r["y"]).floats()
            let m = left + len + right
            XCTAssertEqual(y.count, c * m)
            for ch in 0..<c {
                for i in 0..<m {
                    // Index into the unpadded signal, mirrored about 0 and len − 1 (no edge repeat).
                    var j = i - left
                    if j < 0 { j = -j }
                    if j >= len { j = 2 * (len - 1) - j }
                    XCTAssertEqual(y[ch * m + i], x[ch * len + j], "c \(ch) i \(i) for (\(len), \(left), \(right))")
                }
            }
        }
    }
}
