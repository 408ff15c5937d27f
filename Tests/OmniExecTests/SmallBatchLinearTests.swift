import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The small-batch linear path (a batched decode step of 2 … 16 sessions' rows, LinearSmallBatch.swift) reads every
/// weight row once for all rows, and row r equals the single-row decode result bit for bit, so a session's greedy
/// tokens cannot depend on who it is batched with.
final class SmallBatchLinearTests: XCTestCase {
    func testEveryRowEqualsItsSingleRowDecodeBitForBit() throws {
        let registry = BuiltinPlugins.registry()
        var rng = SeededGenerator(seed: 7)
        // in = 96 and 104 (a tail after the 32/16-wide loops, for the dtypes that allow it), out = 67 (a ragged block).
        for (dtype, inF) in [(DType.f32, 104), (.bf16, 104), (.q8_0, 96), (.f32, 96), (.bf16, 96)] {
            let outF = 67
            let wf = (0..<(outF * inF)).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
            let f = Tensor(wf, shape: [outF, inF])
            let w = Tensor(zeros: [outF, inF], dtype: dtype)
            try registry.converter(from: .f32, to: dtype).convert(f.rawPointer, from: .f32, to: w.mutableRawPointer, dtype,
                                                                  count: wf.count)
            for m in [2, 3, 5, 8, 16] {
                let x = (0..<(m * inF)).map { _ in Float.random(in: -1...1, using: &rng) }
                func run(_ rows: [Float], _ t: Int) throws -> [Float] {
                    var g = Graph()
                    g.markOutput(g.linear(g.input("x", shape: [t, inF]), g.weight("w", shape: [outF, inF]), name: "y"))
                    let exec = Executor(registry: registry, threads: 2)
                    return try exec.run(exec.plan(g), inputs: ["x": Tensor(rows, shape: [t, inF])],
                                        weights: InMemoryWeights(["w": w]))["y"]!.floats()
                }
                let batched = try run(x, m)
                for r in 0..<m {
                    let alone = try run(Array(x[(r * inF)..<((r + 1) * inF)]), 1)
                    XCTAssertEqual(Array(batched[(r * outF)..<((r + 1) * outF)]), alone, "\(dtype) in \(inF) m \(m) row \(r)")
                }
            }
        }
    }
}
