import Foundation
import OmniCore

/// An opened GGUF file: tensors under their Hugging Face names, bytes served zero-copy from the mapping.
public final class GGUFSource: WeightSource {
    /// Metadata key under which the writer stores every tensor's original name (a string array in tensor
    /// order), so reading gives back exactly the names that were written.
    public static let hfNamesKey = "omni.hf_names"

    public var formatName: String { "gguf" }
    public var files: [String] { [file.path] }
    /// GGUF version read (2 or 3).
    public let version: UInt32
    /// `general.alignment` in effect.
    public let alignment: Int
    /// Key-values in file order, typed.
    public let values: [(key: String, value: GGUFValue)]
    /// Tensor names (Hugging Face spelling), sorted.
    public let names: [String]

    private let file: MappedFile
    private let records: [String: (record: GGUFTensorRecord, info: TensorInfo)]

    /// Maps and validates `path`.
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        let header = try GGUFHeader(bytes: file.bytes(0..<file.byteCount), file: path)
        self.file = file
        version = header.version
        alignment = header.alignment
        values = header.metadata

        var hfNames = header.tensors.map { GGUFNames.hf(forGGUF: $0.ggufName) }
        if let stored = header.metadata.first(where: { $0.key == Self.hfNamesKey })?.value {
            guard case let .array(.string, items) = stored, items.count == header.tensors.count else {
                throw OmniError.weightFile(file: path, tensor: nil, reason: "\(Self.hfNamesKey) must be an array of "
                                           + "\(header.tensors.count) strings (one per tensor)")
            }
            hfNames = items.map { if case let .string(s) = $0 { return s } else { return "" } }
        }
        var map: [String: (GGUFTensorRecord, TensorInfo)] = [:]
        for (rec, name) in zip(header.tensors, hfNames) {
            guard map[name] == nil else {
                throw OmniError.weightFile(file: path, tensor: rec.ggufName, reason: "maps to '\(name)', which another tensor has")
            }
            map[name] = (rec, TensorInfo(name: name, dtype: rec.type.dtype, shape: rec.shape, file: path,
                                         byteRange: rec.byteRange))
        }
        records = map
        names = map.keys.sorted()
    }

    /// Every key-value as text (arrays as `[…]`), except the internal name list.
    public var metadata: [String: String] {
        var m: [String: String] = [:]
        for (k, v) in values where k != Self.hfNamesKey { m[k] = v.description }
        return m
    }

    /// The name the tensor has inside the file (`blk.0.attn_q.weight`).
    public func ggufName(_ name: String) -> String? { records[name]?.record.ggufName }

    public func info(_ name: String) -> TensorInfo? { records[name]?.info }

    public func tensor(_ name: String) throws -> Tensor {
        guard let r = records[name] else { throw OmniError.missingTensor(key: name, file: file.path) }
        return Tensor(storage: Storage(file: file, range: r.info.byteRange), shape: r.info.shape, dtype: r.info.dtype)
    }

    public func prefetch(_ name: String) { if let r = records[name] { file.prefetch(r.info.byteRange) } }
    public func release(_ name: String) { if let r = records[name] { file.release(r.info.byteRange) } }
}
