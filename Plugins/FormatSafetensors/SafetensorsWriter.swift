import Foundation
import OmniCore

/// Writes tensors as one safetensors file or as shards plus `model.safetensors.index.json`.
///
/// Order: tensors are split into shards in the order given, as
/// `huggingface_hub.split_torch_state_dict_into_shards` does (a tensor starts a new shard when it would push
/// the current one past `maxShardBytes`; a tensor larger than that gets a shard of its own). Inside a file
/// they are sorted like the Python library sorts them: widest element first, then by name, so every tensor
/// starts at a multiple of its element size. The header lists `__metadata__` first, then the tensors in
/// data order, and is padded with spaces to a multiple of 8 bytes as the reference implementation does.
/// Every file is written under a temporary name in the destination folder; all are renamed into place
/// only after every one is complete, and on failure the temporaries are removed.
struct SafetensorsWriter {
    /// One tensor's place in the output.
    struct Planned {
        var entry: TensorEntry
        var dtypeName: String
        var byteCount: Int
    }

    /// Writes `entries` to `url` and returns the files written (shards first, index last).
    static func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        var planned: [Planned] = []
        var seen = Set<String>()
        for e in entries {
            guard seen.insert(e.name).inserted else {
                throw OmniError.invalidArgument(name: "entries", expected: "unique tensor names",
                                                actual: "'\(e.name)' twice")
            }
            guard let dt = SafetensorsDType.name(e.dtype) else {
                throw OmniError.unsupported(what: "writing \(e.dtype) tensor '\(e.name)' as safetensors",
                                            reasons: ["safetensors holds F32 F16 BF16 I8 I32 I64 U8 BOOL"])
            }
            guard let n = e.shape.checkedElementCount, let bytes = e.dtype.byteCount(elements: n) else {
                throw OmniError.invalidArgument(name: e.name, expected: "a valid shape", actual: "\(e.shape)")
            }
            planned.append(Planned(entry: e, dtypeName: dt, byteCount: bytes))
        }
        if let m = options.maxShardBytes, m <= 0 {
            throw OmniError.invalidArgument(name: "maxShardBytes", expected: "a positive size", actual: "\(m)")
        }

        let fm = FileManager.default
        let sharded = options.maxShardBytes != nil || url.pathExtension != "safetensors"
        let folder = sharded ? url : url.deletingLastPathComponent()
        do { try fm.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw OmniError.io(path: folder.path, reason: "cannot create folder: \(error.localizedDescription)")
        }

        let groups = shardGroups(planned, max: options.maxShardBytes)
        var targets: [URL] = []
        if !sharded {
            targets = [url]
        } else if groups.count == 1 {
            targets = [folder.appendingPathComponent("model.safetensors")]
        } else {
            let n = groups.count
            targets = (1...n).map {
                folder.appendingPathComponent(String(format: "model-%05d-of-%05d.safetensors", $0, n))
            }
        }

        var temps: [AtomicFile] = []
        var committed: [URL] = []
        do {
            for (group, target) in zip(groups, targets) {
                let t = try AtomicFile(destination: target)
                temps.append(t)
                try writeFile(group, metadata: options.metadata, to: t)
                try t.finish()
            }
            if groups.count > 1 {
                let indexURL = folder.appendingPathComponent(SafetensorsIndex.fileName)
                let t = try AtomicFile(destination: indexURL)
                temps.append(t)
                try t.write(Array(indexJSON(groups, targets).utf8))
                try t.finish()
            }
            for t in temps {
                try t.commit()
                committed.append(t.destination)
            }
        } catch {
            for t in temps { t.discard() }
            for u in committed { try? fm.removeItem(at: u) }
            throw error
        }
        return committed
    }

    /// Splits `planned` into shards of at most `max` bytes (one group when `max` is nil).
    static func shardGroups(_ planned: [Planned], max: Int?) -> [[Planned]] {
        guard let max else { return [planned] }
        var groups: [[Planned]] = [[]]
        var size = 0
        for p in planned {
            if !groups[groups.count - 1].isEmpty, size + p.byteCount > max {
                groups.append([])
                size = 0
            }
            groups[groups.count - 1].append(p)
            size += p.byteCount
        }
        return groups
    }

    /// Data order inside one file: widest element first, then by name (keeps every tensor aligned).
    static func fileOrder(_ group: [Planned]) -> [Planned] {
        group.sorted { ($1.entry.dtype.blockBytes, $0.entry.name) < ($0.entry.dtype.blockBytes, $1.entry.name) }
    }

    /// The padded header for `group` (already in data order).
    static func header(_ group: [Planned], metadata: [String: String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(JSONValue.quoted($0)):\(JSONValue.quoted(metadata[$0] ?? ""))" }
            parts.append("\"__metadata__\":{" + m.joined(separator: ",") + "}")
        }
        var offset = 0
        for p in group {
            let shape = p.entry.shape.dims.map(String.init).joined(separator: ",")
            parts.append("\(JSONValue.quoted(p.entry.name)):{\"dtype\":\"\(p.dtypeName)\",\"shape\":[\(shape)],"
                         + "\"data_offsets\":[\(offset),\(offset + p.byteCount)]}")
            offset += p.byteCount
        }
        var bytes = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    private static func writeFile(_ unordered: [Planned], metadata: [String: String], to file: AtomicFile) throws {
        let group = fileOrder(unordered)
        let h = header(group, metadata: metadata)
        var length = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { length[i] = UInt8((UInt64(h.count) >> (8 * UInt64(i))) & 0xff) }
        try file.write(length + h)
        for p in group {
            let t = try p.entry.load()
            guard t.dtype == p.entry.dtype, t.shape == p.entry.shape else {
                throw OmniError.invalidArgument(name: p.entry.name,
                                                expected: "\(p.entry.dtype) \(p.entry.shape) as announced",
                                                actual: "\(t.dtype) \(t.shape)")
            }
            try t.withContiguousBytes { try file.write(UnsafeRawBufferPointer(start: $0, count: p.byteCount)) }
        }
    }

    private static func indexJSON(_ groups: [[Planned]], _ targets: [URL]) -> String {
        var map: [(String, String)] = []
        var total = 0
        for (g, u) in zip(groups, targets) {
            for p in g { map.append((p.entry.name, u.lastPathComponent)); total += p.byteCount }
        }
        map.sort { $0.0 < $1.0 }
        let body = map.map { "    \(JSONValue.quoted($0.0)): \(JSONValue.quoted($0.1))" }.joined(separator: ",\n")
        return "{\n  \"metadata\": {\n    \"total_size\": \(total)\n  },\n  \"weight_map\": {\n\(body)\n  }\n}\n"
    }

}
