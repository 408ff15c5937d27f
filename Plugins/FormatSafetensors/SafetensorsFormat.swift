import Foundation
import OmniCore

/// The safetensors weight format (reference: huggingface/safetensors): reads one file, a folder with
/// `model.safetensors`, or a sharded folder with `model.safetensors.index.json`, zero-copy through mmap;
/// writes one file or shards with an index.
public struct SafetensorsFormat: WeightFormat {
    /// Creates the plugin.
    public init() {}

    /// `safetensors`.
    public var name: String { "safetensors" }

    /// Reads and writes f32/f16/bf16/i8/i32/i64/u8/bool.
    public var capabilities: WeightFormatCapabilities {
        WeightFormatCapabilities(canRead: true, canWrite: true, dtypes: SafetensorsDType.all,
                                 fileExtensions: ["safetensors"])
    }

    /// A `.safetensors` file, or a folder holding `model.safetensors.index.json` or `model.safetensors`.
    public func canOpen(_ url: URL) -> Bool { resolve(url) != nil }

    /// Opens `url` and validates every header (and the index against the shards); reads no tensor data.
    public func open(_ url: URL) throws -> any WeightSource {
        switch resolve(url) {
        case .file(let f): return try SafetensorsSource(file: f)
        case .index(let i): return try SafetensorsSource(index: i)
        case nil:
            throw OmniError.unsupported(what: "opening \(url.path) as safetensors",
                                        reasons: ["expected a .safetensors file or a folder with "
                                                  + "\(SafetensorsIndex.fileName) or model.safetensors"])
        }
    }

    /// Writes one file (`url` ends in `.safetensors` and no shard size is set) or a folder of shards with
    /// `model.safetensors.index.json` (a single shard is written as `model.safetensors`). See
    /// `SafetensorsWriter` for order, padding and the temporary-file protocol.
    public func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        try SafetensorsWriter.write(entries, to: url, options: options)
    }

    private enum Target { case file(URL), index(URL) }

    private func resolve(_ url: URL) -> Target? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return nil }
        if !isDir.boolValue {
            if url.lastPathComponent.hasSuffix(".safetensors.index.json") { return .index(url) }
            return url.pathExtension == "safetensors" ? .file(url) : nil
        }
        let index = url.appendingPathComponent(SafetensorsIndex.fileName)
        if FileManager.default.fileExists(atPath: index.path) { return .index(index) }
        let single = url.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) { return .file(single) }
        return nil
    }
}
