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
        if let max = options.maxShardBytes {
            throw OmniError.invalidArgument(name: "--max-shard-size", expected: "no shard size for zstd (one .omz file)",
                                            actual: "\(ByteCount(max))")
        }
        var out = url
        if url.pathExtension != "omz" {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            out = url.appendingPathComponent("model.omz")
        }
        try ZstdWriter().write(entries, metadata: options.metadata, to: out.path)
        return [out]
    }

    /// The one `.omz` file that `url` names or holds.
    static func file(in url: URL) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw OmniError.io(path: url.path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return url.path }
        let found = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".omz") }.sorted()
        guard found.count == 1 else {
            throw OmniError.weightFile(file: url.path, tensor: nil,
                                       reason: "expected one .omz file in the folder, found \(found.count): \(found.joined(separator: ", "))")
        }
        return url.appendingPathComponent(found[0]).path
    }
}
