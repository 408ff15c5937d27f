import Foundation
import OmniCore

/// Band-limited sample-rate conversion by a rational factor L/M (polyphase windowed sinc, Kaiser window), for
/// audio that is not at the feature extractor's 16 kHz. transformers' processor does not resample (callers use
/// `librosa.load(sr=16000)`, soxr); this is a comparable-quality converter, not a bit-exact copy of soxr.
///
/// Output length is ceil(n · to / from). The passband edge is 0.95 of the lower Nyquist frequency, the stopband
/// attenuation about 80 dB (Kaiser β = 8.6, 24 zero crossings of the sinc each side).
public struct Resampler: Sendable {
    /// Input and output rates in Hz.
    public let from: Int, to: Int
    /// Reduced ratio: `up` output phases per `down` input samples.
    public let up: Int, down: Int
    private let taps: Int                 // coefficients per phase
    private let coefficients: [Float]     // [up × taps], phase-major
    private let leftReach: Int            // input samples before the centre a phase reaches back

    /// A converter from `from` Hz to `to` Hz; both within 1 kHz … 1 MHz and a filter of at most 4M coefficients.
    public init(from: Int, to: Int) throws {
        // Rates outside audio practice (a corrupt header) would ask for filters of billions of taps.
        guard (1000...1_000_000).contains(from), (1000...1_000_000).contains(to) else {
            throw OmniError.invalidArgument(name: "sample rate", expected: "rates from 1 kHz to 1 MHz", actual: "\(from) → \(to)")
        }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let g = gcd(from, to)
        self.from = from; self.to = to
        up = to / g; down = from / g
        guard up <= 4096 else {
            throw OmniError.invalidArgument(name: "sample rate", expected: "a ratio with a small reduced numerator (≤ 4096)",
                                            actual: "\(from) → \(to) (\(up)/\(down))")
        }
        // Cutoff in cycles per input sample relative to the input Nyquist.
        let cutoff = 0.95 * min(1, Double(to) / Double(from))
        let crossings = 24.0
        let halfWidth = crossings / cutoff          // in input samples
        leftReach = Int(halfWidth.rounded(.down))
        taps = 2 * leftReach + 2
        guard up * taps <= 1 << 22 else {
            throw OmniError.invalidArgument(name: "sample rate", expected: "a ratio whose filter fits 4M coefficients",
                                            actual: "\(from) → \(to) (\(up)/\(down), \(up * taps) coefficients)")
        }
        let beta = 8.6
        var c = [Float](repeating: 0, count: up * taps)
        for p in 0..<up {
            // Outputs o with o mod up = p sit at input position base + frac, frac = (p·down mod up)/up; tap j reads
            // input base − leftReach + j.
            let frac = Double(p * down % up) / Double(up)
            var sum = 0.0
            var row = [Double](repeating: 0, count: taps)
            for j in 0..<taps {
                let t = Double(j - leftReach) - frac          // input sample offset from the output's position
                guard abs(t) < halfWidth else { continue }
                let x = cutoff * t
                let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                row[j] = cutoff * sinc * Kaiser.window(t / halfWidth, beta: beta)
                sum += row[j]
            }
            // Unit DC gain per phase, so a constant signal stays constant.
            for j in 0..<taps { c[p * taps + j] = Float(row[j] / sum) }
        }
        coefficients = c
    }

    /// `x` at `to` Hz (zero beyond both ends of the input).
    public func callAsFunction(_ x: [Float]) -> [Float] {
        if up == down { return x }
        let n = x.count
        let outCount = (n * up + down - 1) / down
        var y = [Float](repeating: 0, count: outCount)
        x.withUnsafeBufferPointer { xp in
            coefficients.withUnsafeBufferPointer { cp in
                y.withUnsafeMutableBufferPointer { yp in
                    for o in 0..<outCount {
                        // Input position o·down/up = base + frac; row o mod up holds that frac (see init).
                        let start = o * down / up - leftReach
                        let row = cp.baseAddress! + (o % up) * taps
                        var s: Float = 0
                        let lo = max(0, -start), hi = min(taps, n - start)
                        if lo < hi { for j in lo..<hi { s += row[j] * xp[start + j] } }
                        yp[o] = s
                    }
                }
            }
        }
        return y
    }
}
