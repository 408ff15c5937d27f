import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The token2wav sampler: the sway time grid against the spec's probe, the solvers' order of accuracy on
/// dy/dt = λ·y, the step range, and the unguided DiT path against the guided one at a vanishing guidance weight.
final class FlowSolverTests: XCTestCase {
    func testTimeGridMatchesTheSpecProbe() throws {
        // OMNI-SPEC §7.4 [probe]: linspace(0, 1, 10) after sway −1 (= 1 − cos(πk/18)), fp32.
        let probe: [Float] = [0, 0.0151923, 0.0603074, 0.1339746, 0.2339556, 0.3572124, 0.5, 0.6579800, 0.8263519, 1.0]
        let grid = try FlowSolver(steps: 10).timeGrid
        XCTAssertEqual(grid.count, 10)
        for (a, b) in zip(grid, probe) { XCTAssertEqual(a, b, accuracy: 2e-7) }
        // torch's linspace counts the upper half down from the end: 1 − 1/3 in fp32 (0.6666666), not 2/3 (0.6666667).
        XCTAssertEqual(try FlowSolver(steps: 4, sway: 0).timeGrid, [0, 1 / Float(3), 1 - 1 / Float(3), 1])
    }

    func testRK4IsFourthOrderAndEulerFirstOrder() throws {
        // y' = −1.5·y from y(0) = 1: y(1) = e^−1.5. Halving the step divides the error by ~2^order.
        func error(_ steps: Int, _ method: ODESolver) throws -> Double {
            let y = try FlowSolver(steps: steps, sway: -1, method: method).integrate([1]) { _, y in y.map { -1.5 * $0 } }
            return abs(Double(y[0]) - exp(-1.5))
        }
        let rk = try [5, 9].map { try error($0, .rk4) }, eu = try [33, 65].map { try error($0, .euler) }
        XCTAssertGreaterThan(rk[0] / rk[1], 10, "rk4 errors \(rk)")
        XCTAssertLessThan(rk[1], 2e-5)
        XCTAssertEqual(eu[0] / eu[1], 2, accuracy: 0.3, "euler errors \(eu)")
        // The velocity sees the grid's times: k1 at t0, k2 at t0 + dt/3, k3 at t0 + 2dt/3, k4 at t1.
        var times: [Float] = []
        _ = try FlowSolver(steps: 2, sway: 0).integrate([0]) { t, y in times.append(t); return y }
        XCTAssertEqual(times, [0, 1 / Float(3), 2 / Float(3), 1])
    }

    func testStepsOutsideTheRangeNameIt() {
        for bad in [0, 1, 1001] {
            XCTAssertThrowsError(try FlowSolver(steps: bad)) { e in XCTAssertTrue("\(e)".contains("2...1000"), "\(e)") }
        }
    }

    /// Below 1e−5 the reference runs the conditional branch alone; with a weight just above it the guided pass's
    /// conditional half must agree (the segments keep the unconditional rows out of its attention).
    func testUnguidedPathAgreesWithTheGuidedOneAtVanishingWeight() throws {
        let registry = BuiltinPlugins.registry()
        let t2w = try Token2Wav.load(directory: Fixtures.tinyModel, registry: registry, executor: Executor(registry: registry))
        let codes = (0..<13).map { ($0 * 37) % 64 }
        t2w.guidanceScale = 0
        let plain = try t2w.mel(codes: codes, steps: 3, seed: 5).floats()
        t2w.guidanceScale = 1e-5
        let guided = try t2w.mel(codes: codes, steps: 3, seed: 5).floats()
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(guided, plain), 1e-4)
        t2w.guidanceScale = 0.5
        XCTAssertGreaterThan(Tolerance.relativeMaxError(try t2w.mel(codes: codes, steps: 3, seed: 5).floats(), plain), 1e-3)
        // Euler on request differs from RK4 on the same noise.
        let euler = try t2w.mel(codes: codes, steps: 3, solver: .euler, seed: 5).floats()
        XCTAssertGreaterThan(Tolerance.relativeMaxError(euler, try t2w.mel(codes: codes, steps: 3, seed: 5).floats()), 1e-3)
    }
}
