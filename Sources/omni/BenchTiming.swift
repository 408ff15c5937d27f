import Foundation

/// Timing helpers shared by the `bench-*` commands: a monotonic clock, medians, and reproducible token ids.
enum BenchTiming {
    /// Seconds since an arbitrary origin, monotonic.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Seconds `body` takes.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let t0 = now()
        try body()
        return now() - t0
    }

    /// Median of `values` (mean of the middle two for an even count); 0 for none.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// `count` token ids in 0..<vocab from a fixed linear congruential sequence (the same on every run).
    static func tokenIDs(_ count: Int, vocab: Int, seed: UInt64 = 1) -> [Int] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(vocab))
        }
    }

    /// "12.3 ± 0.4" style summary of rates from per-run seconds for `work` units per run.
    static func rates(_ seconds: [Double], work: Int) -> (median: Double, min: Double, max: Double) {
        let r = seconds.map { Double(work) / $0 }
        return (Double(work) / median(seconds), r.min() ?? 0, r.max() ?? 0)
    }
}
