import Foundation
import OmniCore

/// The `zstd` weight format: our lossless `.omz` container (see `OMZLayout`).
///
/// A path is a `.omz` file or a folder holding exactly one; writing to a path that does not end in `.omz`
/// writes `model.omz` inside that folder. One file per checkpoint: `maxShardBytes` is refused.
public struct ZstdFormat: WeightFormat {
    /// The plugin; stateless (writes with `ZstdWriter()` defaults).
    public init() {}
    public var name: String { "zstd" }

    public var capabilities: WeightFormatCapabilities {
        WeightFormatCapabilities(canRead: true, canWrite: true, dtypes: Set(DType.allCases), fileExtensions: ["omz"])
    }

    public func canOpen(_ url: URL) -> Bool {
        guard let file = try? Self.file(in: url) else { return false }
        return MappedFile.hasMagic(file, OMZLayout.magic)
    }

    public func open(_ url: URL) throws -> any WeightSource { try ZstdSource(path: Self.file(in: url)) }

    public func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        let out = try Self.layout.outputFile(for: url, options: options)
        try ZstdWriter().write(entries, metadata: options.metadata, to: out.path)
        return [out]
    }

    /// Where the file lives in a model folder.
    static let layout = SingleFileLayout(fileExtension: "omz", format: "zstd")

    /// The one `.omz` file that `url` names or holds.
    static func file(in url: URL) throws -> String { try layout.file(in: url) }
}
