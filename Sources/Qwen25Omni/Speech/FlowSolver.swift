import Foundation
import OmniCore

/// How the flow-matching ODE is integrated.
public enum ODESolver: String, Sendable, CaseIterable {
    /// Fixed-step Runge–Kutta with the 3/8 rule (`RungeKutta4ODESolver`, torchdiffeq's `rk4`): 4 evaluations per step.
    case rk4
    /// Forward Euler: 1 evaluation per step.
    case euler
}

/// The sampler of `Qwen2_5OmniToken2WavDiTModel.sample` (OMNI-SPEC §7.4): a time grid of `steps` points from 0 to 1
/// bent by sway sampling, and a fixed-step solver over it. Like the token sampler it works on the host: the state
/// is a [T, melDim] array and each velocity evaluation is one graph run.
public struct FlowSolver: Sendable {
    /// Time points (`num_steps` in the reference: the grid has `steps` points, so `steps − 1` intervals).
    public var steps: Int
    /// Sway coefficient (−1 in the reference).
    public var sway: Float
    /// Integration method.
    public var method: ODESolver

    /// Accepted range of `steps`.
    public static let stepRange = 2...1000

    /// A solver; `steps` outside `stepRange` is an error naming the range.
    public init(steps: Int, sway: Float = -1, method: ODESolver = .rk4) throws {
        guard Self.stepRange.contains(steps) else {
            throw OmniError.invalidArgument(name: "steps", expected: "an integer in \(Self.stepRange.lowerBound)...\(Self.stepRange.upperBound)",
                                            actual: "\(steps)")
        }
        self.steps = steps
        self.sway = sway
        self.method = method
    }

    /// `t = linspace(0, 1, steps)` (torch's two-sided fp32 formula), then `t += sway·(cos(π/2·t) − 1 + t)`.
    public var timeGrid: [Float] {
        let n = steps
        let step = Float(1) / Float(n - 1)
        return (0..<n).map { i -> Float in
            let t = i < n / 2 ? Float(i) * step : 1 - Float(n - 1 - i) * step
            return t + sway * (Foundation.cos(Float.pi / 2 * t) - 1 + t)
        }
    }

    /// Velocity evaluations an integration makes.
    public var evaluations: Int { (steps - 1) * (method == .rk4 ? 4 : 1) }

    /// Integrates dy/dt = f(t, y) from `y0` over the grid; returns y at t = 1.
    public func integrate(_ y0: [Float], _ f: (Float, [Float]) throws -> [Float]) throws -> [Float] {
        let grid = timeGrid
        var y = y0
        for (t0, t1) in zip(grid, grid.dropFirst()) {
            let dt = t1 - t0
            switch method {
            case .euler:
                let k1 = try f(t0, y)
                for i in y.indices { y[i] += dt * k1[i] }
            case .rk4:
                // The reference's operation order, in fp32: k2 at t + dt/3, k3 at t + 2dt/3, k4 at t + dt.
                let third = Float(1.0 / 3.0), twoThirds = Float(2.0 / 3.0)
                let k1 = try f(t0, y)
                let k2 = try f(t0 + dt * third, y.indices.map { y[$0] + dt * k1[$0] * third })
                let k3 = try f(t0 + dt * twoThirds, y.indices.map { y[$0] + dt * (k2[$0] - k1[$0] * third) })
                let k4 = try f(t1, y.indices.map { y[$0] + dt * (k1[$0] - k2[$0] + k3[$0]) })
                for i in y.indices { y[i] += (k1[i] + 3 * (k2[i] + k3[i]) + k4[i]) * dt / 8 }
            }
        }
        return y
    }
}
