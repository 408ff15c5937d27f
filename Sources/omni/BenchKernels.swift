import ArgumentParser
import CKernels
import Foundation
import SwiftOmni

/// `omni bench kernels`: the decode matrix-vector kernels on every CPU path this machine has (portable, AVX2,
/// AVX512-BF16 / VNNI) for bf16, Q8_0 and Q4_0 weights: each path is first checked against a Float64 reference (it fails the command when off),
/// then its weight stream is timed in GB/s over matrices larger than the caches.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Check and time the decode kernels on every CPU path this machine has (prints figures).")

    @Option(parsing: .unconditional, help: "Weight bytes per dtype in MiB (choose more than the last-level cache): 1 … 65536.") var mib = 512
    @Option(parsing: .unconditional, help: "Threads for the timing: 1 … 256.") var threads = 2
    @Option(parsing: .unconditional, help: "Repetitions (the best is reported): 1 … 1000.") var repeats = 5

    func validate() throws {
        try OptionCheck.int(mib, "--mib", 1...65536)
        try OptionCheck.int(threads, "--threads", 1...256)
        try OptionCheck.int(repeats, "--repeats", 1...1000)
    }

    func run() throws {
        defer { omni_cpu_override(-1) }
        var failed = false
        var seen = Set<String>()
        print("threads \(threads), \(mib) MiB of weights per dtype, best of \(repeats); matrices [4864, 896]")
        for mask in [Int32(-1), Int32(OMNI_CPU_AVX2), 0] {
            omni_cpu_override(mask)
            let path = String(cString: omni_cpu_path()) + (omni_cpu_features() & Int32(OMNI_CPU_VNNI) != 0 ? "+vnni" : "")
            guard seen.insert(path).inserted else { continue }
            let (bf16Err, q8Err, q4Err) = KernelCheck.maxErrors()
            let ok = bf16Err <= 1e-5 && q8Err <= 1e-6 && q4Err <= 1e-6
            failed = failed || !ok
            let speed = KernelCheck.throughput(mib: mib, threads: threads, repeats: repeats)
            print(path.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + String(format: "bf16 %6.2f GB/s (err %.1e)   q8_0 %6.2f GB/s (err %.1e)   q4_0 %6.2f GB/s (err %.1e)   ",
                           speed.bf16, bf16Err, speed.q8, q8Err, speed.q4, q4Err)
                  + (ok ? "ok" : "FAILED"))
        }
        if failed { throw ExitCode.failure }
    }
}

/// Reference checks and timings for `bench kernels`.
enum KernelCheck {
    /// Largest |kernel − reference| / Σ|terms| over odd shapes, for bf16 rows (f32 x), Q8_0 × Q8_0 rows and
    /// Q4_0 × Q8_0 rows.
    static func maxErrors() -> (bf16: Double, q8: Double, q4: Double) {
        var rng = SplitMix64(seed: 7)
        var eb = 0.0, eq = 0.0, e4 = 0.0
        for (rows, inF) in [(7, 37), (5, 96), (3, 896), (2, 4864)] {
            let xs = (0..<inF).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let wf = (0..<(rows * inF)).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let wb = wf.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
            var y = [Float](repeating: .nan, count: rows)
            omni_matvec_bf16(wb, xs, &y, inF, 0, rows)
            for o in 0..<rows {
                var ref = 0.0, mag = 0.0
                for i in 0..<inF {
                    let p = Double(Float(bitPattern: UInt32(wb[o * inF + i]) << 16)) * Double(xs[i])
                    ref += p; mag += abs(p)
                }
                eb = max(eb, abs(Double(y[o]) - ref) / max(mag, 1e-30))
            }
            guard inF % 32 == 0 else { continue }
            var wq = [UInt8](repeating: 0, count: rows * inF / 32 * 34), xq = [UInt8](repeating: 0, count: inF / 32 * 34)
            omni_quantize_q8_0(wf, &wq, rows * inF)
            omni_quantize_q8_0(xs, &xq, inF)
            omni_matvec_q8_0(wq, xs, xq, &y, inF, 0, rows)
            for o in 0..<rows {
                var ref = 0.0, mag = 0.0
                for b in 0..<(inF / 32) {
                    let w0 = (o * inF / 32 + b) * 34, x0 = b * 34
                    var s = 0
                    for j in 2..<34 { s += Int(Int8(bitPattern: wq[w0 + j])) * Int(Int8(bitPattern: xq[x0 + j])) }
                    let p = Double(half(wq, w0)) * Double(half(xq, x0)) * Double(s)
                    ref += p; mag += abs(p)
                }
                eq = max(eq, abs(Double(y[o]) - ref) / max(mag, 1e-30))
            }
            var w4 = [UInt8](repeating: 0, count: rows * inF / 32 * 18), xp = [UInt8](repeating: 0, count: omni_q4_0_prepared_bytes(inF))
            for b in 0..<(rows * inF / 32) {   // random nibbles, a normal f16 scale of either sign
                let h = Float16(Float(rng.nextUnit() + 0.5) / 64 * (b % 3 == 0 ? -1 : 1)).bitPattern
                w4[b * 18] = UInt8(h & 0xff); w4[b * 18 + 1] = UInt8(h >> 8)
                for j in 2..<18 { w4[b * 18 + j] = UInt8(truncatingIfNeeded: Int(rng.nextUnit() * 256)) }
            }
            omni_q4_0_prepare_x(xs, &xp, inF)
            omni_matvec_q4_0(w4, xs, xp, &y, inF, 0, rows)
            for o in 0..<rows {
                var ref = 0.0, mag = 0.0
                for b in 0..<(inF / 32) {
                    let w0 = (o * inF / 32 + b) * 18, x0 = b * 34
                    var s = 0
                    for j in 0..<32 {
                        let byte = w4[w0 + 2 + j % 16]
                        s += (Int(j < 16 ? byte & 0x0f : byte >> 4) - 8) * Int(Int8(bitPattern: xp[x0 + 2 + j]))
                    }
                    let p = Double(half(w4, w0)) * Double(half(xp, x0)) * Double(s)
                    ref += p; mag += abs(p)
                }
                e4 = max(e4, abs(Double(y[o]) - ref) / max(mag, 1e-30))
            }
        }
        return (eb, eq, e4)
    }

    private static func half(_ b: [UInt8], _ at: Int) -> Float {
        Float(Float16(bitPattern: UInt16(b[at]) | UInt16(b[at + 1]) << 8))
    }

    /// Weight bytes per second (GB/s) of one product per matrix over `mib` MiB, rows split evenly over threads.
    static func throughput(mib: Int, threads: Int, repeats: Int) -> (bf16: Double, q8: Double, q4: Double) {
        let rows = 4864, inF = 896
        let mats = max(1, mib * 1024 * 1024 / (rows * inF * 2))
        let x = (0..<inF).map { Float($0 % 7) * 0.25 - 0.75 }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: rows * mats)
        defer { y.deallocate() }
        let wb = UnsafeMutablePointer<UInt16>.allocate(capacity: rows * inF * mats)
        defer { wb.deallocate() }
        for i in 0..<(rows * inF * mats) { wb[i] = UInt16(0x3c00 + (i &* 40503) % 512) }
        let qBlocks = rows * inF / 32 * 34
        let wq = UnsafeMutablePointer<UInt8>.allocate(capacity: qBlocks * mats)
        defer { wq.deallocate() }
        for i in 0..<(qBlocks * mats) { wq[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        for b in 0..<(rows * inF / 32 * mats) { wq[b * 34] = 0; wq[b * 34 + 1] = 0x3c }   // scale 1.0
        var xq = [UInt8](repeating: 0, count: inF / 32 * 34)
        omni_quantize_q8_0(x, &xq, inF)
        var xp = [Float](repeating: 0, count: inF)
        omni_bf16_prepare_x(x, &xp, inF)
        let q4Blocks = rows * inF / 32 * 18
        let w4 = UnsafeMutablePointer<UInt8>.allocate(capacity: q4Blocks * mats)
        defer { w4.deallocate() }
        for i in 0..<(q4Blocks * mats) { w4[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        for b in 0..<(rows * inF / 32 * mats) { w4[b * 18] = 0; w4[b * 18 + 1] = 0x3c }   // scale 1.0
        var x4 = [UInt8](repeating: 0, count: omni_q4_0_prepared_bytes(inF))
        omni_q4_0_prepare_x(x, &x4, inF)
        let per = (rows + threads - 1) / threads

        func best(_ body: (Int, Int, Int) -> Void) -> Double {
            var t = Double.infinity
            for _ in 0..<repeats {
                let s = BenchTiming.now()
                DispatchQueue.concurrentPerform(iterations: threads) { th in
                    let r0 = th * per, r1 = min(rows, r0 + per)
                    for m in 0..<mats where r0 < r1 { body(m, r0, r1) }
                }
                t = min(t, BenchTiming.now() - s)
            }
            return t
        }
        let tb = xp.withUnsafeBufferPointer { xpb in
            x.withUnsafeBufferPointer { xb in
                best { m, r0, r1 in
                    omni_matvec_bf16_prepared(wb + m * rows * inF, xpb.baseAddress, xb.baseAddress, y + m * rows, inF, r0, r1)
                }
            }
        }
        let tq = xq.withUnsafeBufferPointer { xqb in
            x.withUnsafeBufferPointer { xb in
                best { m, r0, r1 in omni_matvec_q8_0(wq + m * qBlocks, xb.baseAddress, xqb.baseAddress, y + m * rows, inF, r0, r1) }
            }
        }
        let t4 = x4.withUnsafeBufferPointer { x4b in
            x.withUnsafeBufferPointer { xb in
                best { m, r0, r1 in omni_matvec_q4_0(w4 + m * q4Blocks, xb.baseAddress, x4b.baseAddress, y + m * rows, inF, r0, r1) }
            }
        }
        return (Double(rows * inF * 2 * mats) / tb / 1e9, Double(qBlocks * mats) / tq / 1e9, Double(q4Blocks * mats) / t4 / 1e9)
    }
}
