import BuiltinPlugins
import OmniCore
import OmniExec
import OmniTestSupport
import XCTest

/// The CPU executor against the backend conformance suite: every op kind of its kernel table, against the
/// direct definitions. A device backend runs the same `BackendConformance.check`.
final class BackendConformanceTests: XCTestCase {
    func testEveryOpOfTheCPUTableMatchesItsDefinition() throws {
        let exec = Executor(registry: BuiltinPlugins.registry(), threads: 2)
        let report = try BackendConformance.check(exec)
        XCTAssertEqual(report.failures, [])
        XCTAssertEqual(report.skipped, [])
        XCTAssertEqual(Set(OpKind.allCases).subtracting(report.covered), [], "op kinds without a passing case")
    }

    func testSupportsAnswersFromTheKernelTable() {
        let exec = Executor(registry: BuiltinPlugins.registry(), threads: 1)
        let x = ValueID(0), w = ValueID(1)
        XCTAssertTrue(exec.supports(.linear(x: x, weight: w, bias: nil), dtypes: [.f32, .q4_0]))
        XCTAssertFalse(exec.supports(.linear(x: x, weight: w, bias: nil), dtypes: [.f32, .i8]))
        XCTAssertTrue(exec.supports(.fused(AnyFusedOp(BackendConformance.RowAffine()), inputs: [x, w]), dtypes: [.f32, .bf16]))
        XCTAssertFalse(exec.supports(.fused(AnyFusedOp(NoKernel()), inputs: [x]), dtypes: [.f32]))
    }

    /// A fused op without a CPU kernel: the CPU backend must say it does not support it.
    struct NoKernel: FusedOp {
        var description: String { "test.no_kernel" }
        func kernel(for deviceKind: String) -> FusedKernel? { nil }
    }
}

extension BackendConformanceTests {
    func testAWeightOfAnUnsupportedDTypeIsATypedErrorNamingTheNode() throws {
        var g = Graph()
        let x = g.input("x", shape: [1, 4])
        g.markOutput(g.linear(x, g.weight("w", shape: [2, 4]), name: "proj"))
        let exec = Executor(registry: BuiltinPlugins.registry(), threads: 1)
        let w = Tensor(zeros: [2, 4], dtype: .i8)
        XCTAssertThrowsError(try exec.run(exec.plan(g), inputs: ["x": Tensor(zeros: [1, 4])], weights: InMemoryWeights(["w": w]))) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("proj") && text.contains("i8"), text)
        }
    }
}
