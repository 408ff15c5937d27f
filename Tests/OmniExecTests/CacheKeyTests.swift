import BuiltinPlugins
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The executor's caches are keyed by what makes their content differ: plans by the graph, f32 weight
/// conversions by the weight provider (the model) and the key.
final class CacheKeyTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    /// x [4] · factor, a graph of three nodes whatever the factor.
    func scaled(_ factor: Float) -> Graph {
        var g = Graph()
        let x = g.input("x", shape: [4])
        g.markOutput(g.scale(x, factor, name: "y"))
        return g
    }

    func testTwoGraphsWithTheSameNodeCountUnderOneBucketDoNotShareAPlan() throws {
        let exec = Executor(registry: registry, threads: 1)
        let x = Tensor([1, 2, 3, 4], shape: [4])
        let a = scaled(2), b = scaled(3)
        XCTAssertEqual(a.nodes.count, b.nodes.count)
        XCTAssertNotEqual(a, b)
        let ya = try exec.run(a, bucket: "step", inputs: ["x": x], weights: InMemoryWeights([:]), cache: nil, keep: [])
        let yb = try exec.run(b, bucket: "step", inputs: ["x": x], weights: InMemoryWeights([:]), cache: nil, keep: [])
        XCTAssertEqual(try ya["y"]!.floats(), [2, 4, 6, 8])
        XCTAssertEqual(try yb["y"]!.floats(), [3, 6, 9, 12])
        // The bucket keeps its latest plan only; running b again reuses it.
        XCTAssertEqual(exec.cachedPlanCount, 1)
        let p1 = exec.cachedPlan(b, bucket: "step", keep: [])
        XCTAssertEqual(p1.graph, b)
        XCTAssertEqual(exec.cachedPlanCount, 1)
    }

    func testEqualGraphsBuiltTwiceShareAPlanAndHashAlike() {
        let exec = Executor(registry: registry, threads: 1)
        let a = scaled(2), a2 = scaled(2)
        XCTAssertEqual(a, a2)
        XCTAssertEqual(a.hashValue, a2.hashValue)
        _ = exec.cachedPlan(a, bucket: "step", keep: [])
        _ = exec.cachedPlan(a2, bucket: "step", keep: [])
        XCTAssertEqual(exec.cachedPlanCount, 1)
        // Kept names change the plan (their buffers live to the end), so they are part of the key.
        _ = exec.cachedPlan(a2, bucket: "other", keep: ["y"])
        XCTAssertEqual(exec.cachedPlanCount, 2)
    }

    /// A bf16 [4] tensor holding `values` (exactly representable).
    func bf16(_ values: [Float]) throws -> Tensor {
        let f = Tensor(values, shape: [4])
        let t = Tensor(zeros: [4], dtype: .bf16)
        try registry.converter(from: .f32, to: .bf16).convert(f.rawPointer, from: .f32, to: t.mutableRawPointer, .bf16, count: 4)
        return t
    }

    func testConvertedWeightsAreKeyedByModelNotOnlyByName() throws {
        // Two models with a bf16 norm weight of the same name and different values, run by one executor.
        var g = Graph()
        let x = g.input("x", shape: [1, 4])
        let w = g.weight("norm.weight", shape: [4])
        g.markOutput(g.layerNorm(x, nil, w, eps: 1e-5, name: "y"))   // the weight as a bias: y = norm(x) + w
        let exec = Executor(registry: registry, threads: 1)
        let input = Tensor([0, 0, 0, 0], shape: [1, 4])
        let modelA = InMemoryWeights(["norm.weight": try bf16([1, 2, 3, 4])])
        let modelB = InMemoryWeights(["norm.weight": try bf16([-1, -2, -3, -4])])
        let plan = exec.plan(g)
        XCTAssertEqual(try exec.run(plan, inputs: ["x": input], weights: modelA)["y"]!.floats(), [1, 2, 3, 4])
        XCTAssertEqual(try exec.run(plan, inputs: ["x": input], weights: modelB)["y"]!.floats(), [-1, -2, -3, -4])
        XCTAssertEqual(try exec.run(plan, inputs: ["x": input], weights: modelA)["y"]!.floats(), [1, 2, 3, 4])
    }
}
