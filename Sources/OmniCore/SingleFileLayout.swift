import Foundation

/// Where a single-file weight format (GGUF, `.omz`) finds and writes its file: a path to the file itself, or a
/// model folder holding exactly one file with the extension (`model.<ext>` when writing).
public struct SingleFileLayout: Sendable {
    /// The extension without the dot (`gguf`, `omz`).
    public let fileExtension: String
    /// The format's name, for error messages.
    public let format: String

    public init(fileExtension: String, format: String) {
        self.fileExtension = fileExtension
        self.format = format
    }

    /// The one file that `url` names or holds; a folder with none or several is an error naming what it found.
    public func file(in url: URL) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw OmniError.io(path: url.path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return url.path }
        let found = try FileManager.default.contentsOfDirectory(atPath: url.path)
            .filter { $0.hasSuffix("." + fileExtension) }.sorted()
        guard found.count == 1 else {
            throw OmniError.weightFile(file: url.path, tensor: nil, reason: "expected one .\(fileExtension) file in "
                + "the folder, found \(found.count): \(found.joined(separator: ", "))")
        }
        return url.appendingPathComponent(found[0]).path
    }

    /// The file to write for `url` (itself when it has the extension, else `url/model.<ext>`, creating the folder).
    /// Refuses a shard size: these formats are one file.
    public func outputFile(for url: URL, options: WeightWriteOptions) throws -> URL {
        if let max = options.maxShardBytes {
            throw OmniError.invalidArgument(name: "--max-shard-size",
                                            expected: "no shard size for \(format) (one .\(fileExtension) file)",
                                            actual: "\(ByteCount(max))")
        }
        guard url.pathExtension != fileExtension else { return url }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.appendingPathComponent("model." + fileExtension)
    }
}
