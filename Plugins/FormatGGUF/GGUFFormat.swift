import Foundation
import OmniCore

/// The GGUF weight format (llama.cpp / ggml): reads v2 and v3, writes v3.
///
/// A path is a `.gguf` file or a folder holding exactly one. Writing to a path that does not end in
/// `.gguf` writes `model.gguf` inside that folder. `WeightWriteOptions.metadata` is stored as string
/// key-values; use `GGUFWriter` directly for typed extra metadata. GGUF has no shards here:
/// `maxShardBytes` is refused.
public struct GGUFFormat: WeightFormat {
    /// The plugin; stateless.
    public init() {}
    public var name: String { "gguf" }

    public var capabilities: WeightFormatCapabilities {
        WeightFormatCapabilities(canRead: true, canWrite: true,
                                 dtypes: [.f32, .f16, .bf16, .q8_0, .q4_0, .i8, .i32, .i64], fileExtensions: ["gguf"])
    }

    public func canOpen(_ url: URL) -> Bool {
        guard let file = try? Self.file(in: url) else { return false }
        return MappedFile.hasMagic(file, GGUFHeader.magic)
    }

    public func open(_ url: URL) throws -> any WeightSource { try GGUFSource(path: Self.file(in: url)) }

    public func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        if let max = options.maxShardBytes {
            throw OmniError.invalidArgument(name: "--max-shard-size", expected: "no shard size for gguf (one file)",
                                            actual: "\(ByteCount(max))")
        }
        var out = url
        if url.pathExtension != "gguf" {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            out = url.appendingPathComponent("model.gguf")
        }
        // Keys the writer sets itself (alignment, stored names) are not copied from a source's metadata.
        let extra = options.metadata.filter { $0.key != "general.alignment" && $0.key != GGUFSource.hfNamesKey }
            .sorted { $0.key < $1.key }.map { (key: $0.key, value: GGUFValue.string($0.value)) }
        try GGUFWriter(extraMetadata: extra).write(entries, to: out.path)
        return [out]
    }

    /// The one `.gguf` file that `url` names or holds.
    static func file(in url: URL) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw OmniError.io(path: url.path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return url.path }
        let found = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".gguf") }.sorted()
        guard found.count == 1 else {
            throw OmniError.weightFile(file: url.path, tensor: nil,
                                       reason: "expected one .gguf file in the folder, found \(found.count): \(found.joined(separator: ", "))")
        }
        return url.appendingPathComponent(found[0]).path
    }
}
