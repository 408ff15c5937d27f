import ArgumentParser
import CKernels
import Foundation
import SwiftOmni

/// `omni bench convert`: bulk bf16/f16 ↔ f32 conversion speed against memcpy, on one thread.
struct BenchConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Measure bulk dtype conversion against memcpy on one thread (prints figures).")

    @Option(parsing: .unconditional, help: "Size of the f32 side in MiB: 1 … 65536.") var mib = 64
    @Option(parsing: .unconditional, help: "Repetitions (the best is reported): 1 … 1000.") var repeats = 7

    func validate() throws {
        try OptionCheck.int(mib, "--mib", 1...65536)
        try OptionCheck.int(repeats, "--repeats", 1...1000)
    }

    func run() throws {
        let n = mib * 1024 * 1024 / 4
        let f32 = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let f32b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let h16 = UnsafeMutablePointer<UInt16>.allocate(capacity: n)
        defer { f32.deallocate(); f32b.deallocate(); h16.deallocate() }
        var rng = SystemRandomNumberGenerator()
        for i in 0..<n { f32[i] = Float.random(in: -4...4, using: &rng) }
        memset(f32b, 0, n * 4)
        omni_f32_to_bf16(f32, h16, n)

        func best(_ body: () -> Void) -> Double {
            var t = Double.infinity
            for _ in 0..<repeats {
                let s = DispatchTime.now().uptimeNanoseconds
                body()
                t = min(t, Double(DispatchTime.now().uptimeNanoseconds - s) / 1e9)
            }
            return t
        }
        // Bytes moved = read + written: a memcpy of B bytes moves 2B.
        let gb = { (bytes: Int, s: Double) in Double(bytes) / s / 1e9 }
        let copyBig = best { memcpy(f32b, f32, n * 4) }
        let copySmall = best { memcpy(f32b, h16, n * 2) }
        print("CPU path: \(String(cString: omni_cpu_path())), \(mib) MiB f32 side (\(n) values), best of \(repeats), 1 thread")
        print("memcpy \(mib) MiB:        \(String(format: "%.2f", gb(2 * n * 4, copyBig))) GB/s moved")
        print("memcpy \(mib / 2) MiB:        \(String(format: "%.2f", gb(2 * n * 2, copySmall))) GB/s moved")
        let rows: [(String, () -> Void)] = [
            ("bf16 → f32", { omni_bf16_to_f32(h16, f32b, n) }),
            ("f32 → bf16", { omni_f32_to_bf16(f32, h16, n) }),
            ("f16 → f32", { omni_f16_to_f32(h16, f32b, n) }),
            ("f32 → f16", { omni_f32_to_f16(f32, h16, n) }),
        ]
        for (name, body) in rows {
            let s = best(body)
            let moved = gb(n * 6, s)
            // Same traffic as memcpy of the f32 side plus half of it; compare with the memcpy rate.
            let memRate = gb(2 * n * 4, copyBig)
            print("\(name):  \(String(format: "%.2f", moved)) GB/s moved  = \(String(format: "%.0f", 100 * moved / memRate))% of memcpy")
        }
    }
}
