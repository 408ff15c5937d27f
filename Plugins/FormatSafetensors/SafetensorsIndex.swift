import Foundation
import OmniCore

/// A validated `model.safetensors.index.json`: which shard holds each tensor.
///
/// Shard paths must stay inside the model folder: absolute paths, `..` components and symlinks that
/// lead outside are refused.
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
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw OmniError.io(path: path, reason: "cannot read index: \(error.localizedDescription)")
        }
        guard data.count <= SafetensorsHeader.maxHeaderBytes else {
            throw fail("index is \(data.count) bytes, over the \(SafetensorsHeader.maxHeaderBytes)-byte cap")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("index is not valid JSON")
        }
        guard let object = root as? [String: Any] else { throw fail("index is not a JSON object") }
        guard let map = object["weight_map"] as? [String: Any] else {
            throw fail("index has no 'weight_map' object")
        }
        var metadata: [String: String] = [:]
        if let m = object["metadata"] {
            guard let m = m as? [String: Any] else { throw fail("index 'metadata' must be an object") }
            for (k, v) in m { metadata[k] = "\(v)" }
        }

        let folder = url.deletingLastPathComponent().standardizedFileURL
        let realFolder = folder.resolvingSymlinksInPath().path
        var resolved: [String: URL] = [:]
        var byShardName: [String: URL] = [:]
        var shards: [URL] = []
        for name in map.keys.sorted() {
            guard let rel = map[name] as? String else { throw fail("weight_map value must be a file name", name) }
            if let u = byShardName[rel] { resolved[name] = u; continue }
            guard !rel.isEmpty, !rel.hasPrefix("/"), !rel.hasPrefix("~") else {
                throw fail("shard path '\(rel)' must be relative to the model folder", name)
            }
            guard !rel.split(separator: "/", omittingEmptySubsequences: false).contains("..") else {
                throw fail("shard path '\(rel)' contains '..'", name)
            }
            let shard = folder.appendingPathComponent(rel).standardizedFileURL
            let real = shard.resolvingSymlinksInPath().path
            guard real.hasPrefix(realFolder + "/") else {
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
