import Foundation
import OmniCore

/// A validated `model.safetensors.index.json`: which shard holds each tensor.
///
/// Shard paths must stay inside the model folder: absolute paths and `..` components are refused. The
/// check is on the path the index names, not on where a symlink points: the Hugging Face cache stores
/// every shard as `snapshots/<rev>/name → ../../blobs/<hash>`, and those links are the cache's own.
struct SafetensorsIndex {
    /// The conventional index file name.
    static let fileName = "model.safetensors.index.json"

    /// Tensor name → shard URL (resolved inside the folder).
    let weightMap: [String: URL]
    /// Shard URLs, in first-mention order of sorted tensor names.
    let shards: [URL]
    /// The index's `metadata` object, values as text (`total_size` → "5108064").
    let metadata: [String: String]

    /// Reads and validates `url` (the index file) against its folder.
    init(url: URL) throws {
        let path = url.path
        func fail(_ reason: String, _ tensor: String? = nil) -> OmniError {
            .weightFile(file: path, tensor: tensor, reason: reason)
        }
        // With pread, not Data(contentsOf:), which leaked a 4 KiB buffer reading an empty file (fuzz finding).
        let size = try FileRead.size(path)
        guard size <= SafetensorsHeader.maxHeaderBytes else {
            throw fail("index is \(size) bytes, over the \(SafetensorsHeader.maxHeaderBytes)-byte cap")
        }
        let data = try FileRead.bytes(path, offset: 0, count: size)
        let root: HeaderValue
        do { root = try HeaderValue.parse(data) } catch let e as Reason { throw fail("index is \(e.text)") }
        guard case .object(let object) = root else { throw fail("index is not a JSON object") }
        guard let mapValue = object.first(where: { $0.0 == "weight_map" })?.1, case .object(let members) = mapValue else {
            throw fail("index has no 'weight_map' object")
        }
        var map: [String: HeaderValue] = [:]
        for (k, v) in members { map[k] = v }
        var metadata: [String: String] = [:]
        if let m = object.first(where: { $0.0 == "metadata" })?.1 {
            guard case .object(let fields) = m else { throw fail("index 'metadata' must be an object") }
            for (k, v) in fields {
                switch v {
                case .string(let s): metadata[k] = s
                case .int(let i): metadata[k] = String(i)
                case .double(let d): metadata[k] = String(d)
                case .bool(let b): metadata[k] = String(b)
                default: metadata[k] = "(\(v))"
                }
            }
        }

        let folder = url.deletingLastPathComponent().standardizedFileURL
        var resolved: [String: URL] = [:]
        var byShardName: [String: URL] = [:]
        var shards: [URL] = []
        for name in map.keys.sorted() {
            guard case .string(let rel)? = map[name] else { throw fail("weight_map value must be a file name", name) }
            if let u = byShardName[rel] { resolved[name] = u; continue }
            guard !rel.isEmpty, !rel.hasPrefix("/"), !rel.hasPrefix("~") else {
                throw fail("shard path '\(rel)' must be relative to the model folder", name)
            }
            guard !rel.split(separator: "/", omittingEmptySubsequences: false).contains("..") else {
                throw fail("shard path '\(rel)' contains '..'", name)
            }
            let shard = folder.appendingPathComponent(rel).standardizedFileURL
            guard shard.path.hasPrefix(folder.path + "/") else {
                throw fail("shard path '\(rel)' leads outside the model folder", name)
            }
            guard FileManager.default.fileExists(atPath: shard.path) else {
                throw fail("shard '\(rel)' named for this tensor does not exist", name)
            }
            byShardName[rel] = shard
            resolved[name] = shard
            shards.append(shard)
        }
        self.weightMap = resolved
        self.shards = shards
        self.metadata = metadata
    }
}
