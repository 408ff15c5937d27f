import ArgumentParser
import Foundation
import OmniCore
#if canImport(Glibc)
import Glibc
#endif

/// `omni bench open MODEL | --synthetic SIZE`: how long opening a checkpoint takes and how many bytes it
/// touches (it should read headers only).
struct BenchOpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Time opening a checkpoint and count the bytes read (headers only, no tensor data).")

    @Argument(help: "A model folder or weight file. Omit with --synthetic.")
    var model: String?

    @Option(help: "Write a synthetic safetensors checkpoint of this size (e.g. 1GB) to a temporary folder and open it.")
    var synthetic: String?

    @Option(help: "Shard size for --synthetic.")
    var shardSize = "256MB"

    @Option(parsing: .unconditional, help: "Warm repetitions for the median time: 1 … 1000.")
    var repeats = 10

    func validate() throws {
        try OptionCheck.int(repeats, "--repeats", 1...1000)
    }

    func run() throws {
        let registry = Composition.registry()
        var cleanup: URL?
        defer { if let c = cleanup { try? FileManager.default.removeItem(at: c) } }
        let url: URL
        if let synthetic {
            guard let size = ByteCount(parsing: synthetic), let shard = ByteCount(parsing: shardSize) else {
                throw OmniError.invalidArgument(name: "--synthetic/--shard-size", expected: "a size like 1GB",
                                                actual: "\(synthetic) / \(shardSize)")
            }
            url = FileManager.default.temporaryDirectory.appendingPathComponent("omni-bench-open-\(getpid())")
            cleanup = url
            try SyntheticCheckpoint.write(bytes: size.bytes, shardBytes: shard.bytes, to: url, registry: registry)
        } else if let model {
            url = URL(fileURLWithPath: model)
        } else {
            throw ValidationError("give MODEL or --synthetic SIZE")
        }

        let format = try registry.weightFormat(for: url)
        // Sizes from a first open whose mappings are gone before the page cache is evicted.
        let (files, tensorBytes): ([String], Int) = try {
            let probe = try format.open(url)
            return (probe.files, probe.names.reduce(0) { $0 + (probe.info($1)?.byteRange.count ?? 0) })
        }()
        let onDisk = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        for f in files { IOCounters.evictFromPageCache(f) }
        let residentBefore = files.reduce(0) { $0 + IOCounters.residentBytes($1) }

        let before = IOCounters.now()
        let start = DispatchTime.now().uptimeNanoseconds
        let cold = try format.open(url)
        let coldSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = IOCounters.now()
        var warm: [Double] = []
        for _ in 0..<max(1, repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try format.open(url)
            warm.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        warm.sort()

        print("checkpoint:        \(synthetic.map { "synthetic \($0)" } ?? url.path) (\(format.name))")
        print("files:             \(files.count), \(ByteCount(onDisk)) on disk, \(cold.names.count) tensors, "
              + "\(ByteCount(tensorBytes)) of tensor data")
        print(String(format: "open, cold cache:  %.3f ms", coldSeconds * 1e3))
        print(String(format: "open, warm median: %.3f ms (of %d)", warm[warm.count / 2] * 1e3, warm.count))
        print("read() bytes:      \(after.rchar - before.rchar) (rchar: index/JSON files read with read())")
        print("disk bytes read:   \(after.readBytes - before.readBytes) (read_bytes: storage I/O, page cache evicted first)")
        print("pages faulted:     \(after.faults - before.faults) minor+major "
              + "(≤ \(ByteCount((after.faults - before.faults) * IOCounters.pageSize)) touched, mappings and heap)")
        let resident = files.reduce(0) { $0 + IOCounters.residentBytes($1) }
        print("page cache before: \(residentBefore) bytes resident after eviction")
        print("page cache after:  \(resident) bytes of the checkpoint's files resident (mincore; includes kernel readahead)")
        print(String(format: "fraction of data:  %.4f%% of the files' bytes were brought in", 100 * Double(resident) / Double(max(1, onDisk))))
        withExtendedLifetime(cold) {}
    }
}

/// Process I/O counters from /proc/self/io and getrusage.
enum IOCounters {
    /// Bytes read through read(), bytes fetched from storage, page faults.
    struct Sample { var rchar = 0, readBytes = 0, faults = 0 }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func now() -> Sample {
        var s = Sample()
        if let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let v = Int(parts[1]) else { continue }
                if parts[0] == "rchar" { s.rchar = v }
                if parts[0] == "read_bytes" { s.readBytes = v }
            }
        }
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        s.faults = Int(u.ru_minflt + u.ru_majflt)
        return s
    }

    /// Bytes of `path` now in the page cache (mincore over a fresh mapping; mapping does not read anything).
    static func residentBytes(_ path: String) -> Int {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return 0 }
        let size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else { return 0 }
        defer { munmap(p, size) }
        var vec = [UInt8](repeating: 0, count: (size + pageSize - 1) / pageSize)
        guard mincore(p, size, &vec) == 0 else { return 0 }
        return vec.reduce(0) { $0 + Int($1 & 1) } * pageSize
    }

    /// Asks the kernel to drop `path` from the page cache, so the next open reads from storage.
    static func evictFromPageCache(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        fdatasync(fd)
        _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
        close(fd)
    }
}

/// A synthetic bf16 checkpoint of a given size, written with the registered safetensors writer.
enum SyntheticCheckpoint {
    /// Writes `bytes` of bf16 tensors (4 MiB each, 7B-like names) in shards of `shardBytes` to `folder`.
    static func write(bytes: Int, shardBytes: Int, to folder: URL, registry: PluginRegistry) throws {
        let tensorBytes = 4 << 20
        let count = max(1, bytes / tensorBytes)
        let rows = tensorBytes / 2 / 1024
        let shared = Tensor(zeros: [rows, 1024], dtype: .bf16)
        let entries = (0..<count).map { i in
            TensorEntry(name: "thinker.model.layers.\(i / 7).mlp.proj_\(i % 7).weight", dtype: .bf16,
                        shape: [rows, 1024]) { shared }
        }
        _ = try registry.weightFormat(named: "safetensors").write(
            entries, to: folder, options: WeightWriteOptions(maxShardBytes: shardBytes, metadata: ["format": "pt"]))
    }
}
