import Foundation
import OmniCore

/// One sub-processor's settings in a model folder, in either spelling: the `name` object of
/// `processor_config.json` (transformers ≥ 5) or the flat `preprocessor_config.json` (the published checkpoint).
struct ProcessorConfigFile {
    let values: [String: JSONValue]
    /// The file they came from and the key prefix errors use (`feature_extractor.`).
    let file: String, prefix: String

    /// The section, or nil when neither file holds it.
    static func section(_ name: String, in directory: URL) throws -> ProcessorConfigFile? {
        for (file, nested) in [("processor_config.json", true), ("preprocessor_config.json", false)] {
            let url = directory.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            guard case let .object(root) = try JSONValue.parse(RegularFile.read(url.path, limit: 64 << 20), file: url.path) else { continue }
            if !nested { return ProcessorConfigFile(values: root, file: url.path, prefix: "") }
            if case let .object(o)? = root[name] { return ProcessorConfigFile(values: o, file: url.path, prefix: name + ".") }
        }
        return nil
    }

    /// A positive integer at `key` (nil when absent); anything else is an error naming the file and key.
    func positiveInt(_ key: String, in object: [String: JSONValue]? = nil) throws -> Int? {
        guard let v = (object ?? values)[key] else { return nil }
        guard case let .int(i) = v, i > 0 else {
            throw OmniError.config(file: file, keyPath: prefix + key, expected: "a positive integer", actual: "\(v)")
        }
        return i
    }
}
