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
                                 dtypes: [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_k, .q6_k, .i8, .i32, .i64], fileExtensions: ["gguf"])
    }

    public func canOpen(_ url: URL) -> Bool {
        guard let file = try? Self.file(in: url) else { return false }
        return MappedFile.hasMagic(file, GGUFHeader.magic)
    }

    public func open(_ url: URL) throws -> any WeightSource { try GGUFSource(path: Self.file(in: url)) }

    public func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        let out = try Self.layout.outputFile(for: url, options: options)
        // Keys the writer sets itself (alignment, stored names) are not copied from a source's metadata.
        let extra = options.metadata.filter { $0.key != "general.alignment" && $0.key != GGUFSource.hfNamesKey }
            .sorted { $0.key < $1.key }.map { (key: $0.key, value: GGUFValue.string($0.value)) }
        try GGUFWriter(extraMetadata: extra).write(entries, to: out.path)
        return [out]
    }

    /// Where the file lives in a model folder.
    static let layout = SingleFileLayout(fileExtension: "gguf", format: "gguf")

    /// The one `.gguf` file that `url` names or holds.
    static func file(in url: URL) throws -> String { try layout.file(in: url) }
}
