import Foundation

/// The Kaiser window, shared by the resampler's and the vocoder's windowed-sinc filters (Float64).
public enum Kaiser {
    /// The modified Bessel function of the first kind, order 0, by its power series (to 1e-15 relative).
    public static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-15 * sum { term *= (x / (2 * k)) * (x / (2 * k)); sum += term; k += 1 }
        return sum
    }

    /// The window value at r ∈ [−1, 1] (the position relative to the half-width): I0(β·√(1 − r²)) / I0(β).
    public static func window(_ r: Double, beta: Double) -> Double {
        abs(r) > 1 ? 0 : besselI0(beta * (1 - r * r).squareRoot()) / besselI0(beta)
    }
}
