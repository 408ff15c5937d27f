import ArgumentParser
import CZstd
import Dispatch
import Foundation
import FormatZstd
import OmniCore

/// `omni bench zstd`: the `.omz` container on Gaussian bf16 weights against plain zstd of the raw bytes.
///
/// Prints, per (level, chunk size): compression ratio, compression time, and decompression GB/s (of
/// uncompressed output) on 1 thread and on every core. Also the order-0 entropy bound of the values.
struct BenchZstd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zstd",
        abstract: "Benchmark the zstd weight container on Gaussian bf16 weights.")

    @Option(parsing: .unconditional, help: "Number of bf16 values (default 64 Mi): 1 … 2^30.") var values: Int = 64 << 20
    @Option(parsing: .unconditional, help: "Standard deviation of the weights: a finite number > 0 and ≤ 1000.") var std: Float = 0.02
    @Option(help: "zstd levels to try, comma separated.") var levels: String = "1,3"
    @Option(help: "Chunk sizes in KiB of input, comma separated.") var chunkKib: String = "128,256,1024"
    @Option(parsing: .unconditional, help: "Timed repetitions (best is reported): 1 … 1000.") var repeats: Int = 3
    @Option(help: "zstd minimum match lengths to try (0 = the level's), comma separated.") var minMatch: String = "0"

    func validate() throws {
        try OptionCheck.int(values, "--values", 1...(1 << 30))
        try OptionCheck.above(Double(std), "--std", 0, upper: 1000)
        try OptionCheck.int(repeats, "--repeats", 1...1000)
    }

    func run() throws {
        let n = values
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("bench zstd: \(n) bf16 values (\(ByteCount(n * 2))), N(0, \(std)), \(cores) cores, zstd \(String(cString: ZSTD_versionString()))")
        let t = Tensor(zeros: [n], dtype: .bf16)
        let p = t.mutableRawPointer.assumingMemoryBound(to: UInt16.self)
        var g = SplitMix(state: 42)
        let std = self.std
        for i in stride(from: 0, to: n - 1, by: 2) {
            let (a, b) = g.normalPair()
            p[i] = Scalar.floatToBF16(a * std)
            p[i + 1] = Scalar.floatToBF16(b * std)
        }
        var hist = [Int](repeating: 0, count: 65536)
        for i in 0..<n { hist[Int(p[i])] += 1 }
        let entropy = hist.reduce(0.0) { h, c in c == 0 ? h : h - Double(c) / Double(n) * log2(Double(c) / Double(n)) }
        print(String(format: "order-0 entropy: %.3f bits/value → bound ratio %.3f", entropy, 16 / entropy))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-bench-zstd-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = UnsafeMutableRawPointer.allocate(byteCount: t.byteCount, alignment: 64)
        defer { out.deallocate() }
        memset(out, 0, t.byteCount)
        let raw = Double(t.byteCount)

        print("\nformat        level chunk    ratio  compress(s)  decomp 1 thread  decomp \(cores) threads  1 thread per CPU-s")
        for level in levels.split(separator: ",").compactMap({ Int32($0) }) {
            for kib in chunkKib.split(separator: ",").compactMap({ Int($0) }) {
              for mm in minMatch.split(separator: ",").compactMap({ Int32($0) }) {
                let path = dir.appendingPathComponent("w-\(level)-\(kib)-\(mm).omz").path
                let c0 = DispatchTime.now()
                try ZstdWriter(level: level, chunkBytes: kib << 10, minMatch: mm, threads: cores)
                    .write([TensorEntry(name: "w", dtype: .bf16, shape: t.shape) { t }], metadata: [:], to: path)
                let ctime = seconds(since: c0)
                let one = try ZstdSource(path: path, threads: 1)
                let all = try ZstdSource(path: path, threads: cores)
                let size = Double(one.info("w")?.byteRange.count ?? 1)
                let (s1, cpu1) = try timed { try one.decompress("w", into: out) }
                let sN = try best { try all.decompress("w", into: out) }
                guard t.withContiguousBytes({ memcmp(out, $0, t.byteCount) }) == 0 else {
                    throw OmniError.weightFile(file: path, tensor: "w", reason: "round trip is not bit-exact")
                }
                print(String(format: "omz mm=%d     %5d %5dK  %6.3f  %11.2f  %10.2f GB/s  %12.2f GB/s  %6.2f GB/s",
                             mm, level, kib, raw / size, ctime, raw / s1 / 1e9, raw / sN / 1e9, raw / cpu1 / 1e9))
                try? FileManager.default.removeItem(atPath: path)
              }
            }
            let (ratio, d1) = try plainZstd(t, level: level, chunk: 1 << 20)
            print(String(format: "plain zstd    %5d %5dK  %6.3f  %11@  %10.2f GB/s", level, 1024, ratio, "-", raw / d1 / 1e9))
        }
        print("\nratio = raw bytes / compressed frame bytes; GB/s = uncompressed bytes per second (best of \(repeats)),"
              + " into a preallocated buffer, file in the page cache; per CPU-s = bytes / CPU time of the"
              + " 1-thread run (best of \(repeats); what one core delivers while it runs, robust to other load)")
    }

    func seconds(since t0: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9 }

    /// Best wall-clock seconds of `repeats` runs after a warm-up, and the process CPU seconds of that run.
    func timed(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        try body() // warm-up: page in the mapping
        var b = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<max(1, repeats) {
            let c0 = cpuSeconds(), t0 = DispatchTime.now()
            try body()
            let w = seconds(since: t0), c = cpuSeconds() - c0
            b = (min(b.wall, w), min(b.cpu, c))
        }
        return b
    }

    func best(_ body: () throws -> Void) throws -> Double { try timed(body).wall }

    func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Plain zstd of the raw bytes in `chunk`-byte frames: ratio and best single-thread decompression time.
    func plainZstd(_ t: Tensor, level: Int32, chunk: Int) throws -> (Double, Double) {
        let total = t.byteCount
        var frames: [(Int, [UInt8])] = []
        var off = 0
        let bound = ZSTD_compressBound(chunk)
        var dst = [UInt8](repeating: 0, count: bound)
        while off < total {
            let m = min(chunk, total - off)
            let r = dst.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, bound, t.rawPointer + off, m, level) }
            guard ZSTD_isError(r) == 0 else { throw OmniError.io(path: "plain zstd", reason: String(cString: ZSTD_getErrorName(r))) }
            frames.append((m, Array(dst[0..<r])))
            off += m
        }
        let compressed = frames.reduce(0) { $0 + $1.1.count }
        let out = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
        defer { out.deallocate() }
        let dctx = ZSTD_createDCtx()
        defer { ZSTD_freeDCtx(dctx) }
        let time = try best {
            var o = 0
            for (m, f) in frames {
                let r = f.withUnsafeBytes { ZSTD_decompressDCtx(dctx, out + o, m, $0.baseAddress, $0.count) }
                guard r == m else { throw OmniError.io(path: "plain zstd", reason: "decompressed \(r), expected \(m)") }
                o += m
            }
        }
        return (Double(total) / Double(compressed), time)
    }
}

/// SplitMix64 with Box–Muller pairs: reproducible weights for the benchmark.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }
    mutating func normalPair() -> (Float, Float) {
        let r = (-2 * log(uniform())).squareRoot(), a = 2 * Double.pi * uniform()
        return (Float(r * cos(a)), Float(r * sin(a)))
    }
}
