import Foundation
import OmniCore

/// An opened safetensors checkpoint (one file or a sharded set): headers validated, tensor bytes mapped,
/// nothing copied.
final class SafetensorsSource: WeightSource, @unchecked Sendable {
    let formatName = "safetensors"
    let files: [String]
    let metadata: [String: String]
    let names: [String]
    private let infos: [String: TensorInfo]
    private let mapped: [String: MappedFile]

    /// Opens one `.safetensors` file.
    convenience init(file url: URL) throws {
        let file = try MappedFile(path: url.path)
        let header = try SafetensorsHeader(file: file)
        try self.init(headers: [header], mapped: [file], index: nil, indexPath: nil)
    }

    /// Opens the shards named by an index file, checking index and shards against each other both ways.
    convenience init(index url: URL) throws {
        let index = try SafetensorsIndex(url: url)
        var headers: [SafetensorsHeader] = []
        var files: [MappedFile] = []
        for shard in index.shards {
            let f = try MappedFile(path: shard.path)
            files.append(f)
            headers.append(try SafetensorsHeader(file: f))
        }
        try self.init(headers: headers, mapped: files, index: index, indexPath: url.path)
    }

    private init(headers: [SafetensorsHeader], mapped: [MappedFile], index: SafetensorsIndex?,
                 indexPath: String?) throws {
        var infos: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for h in headers {
            for t in h.tensors {
                if let other = infos[t.name] {
                    throw OmniError.weightFile(file: h.path, tensor: t.name,
                                               reason: "tensor also stored in \(other.file)")
                }
                if let index, let indexPath, index.weightMap[t.name]?.path != h.path {
                    throw OmniError.weightFile(file: h.path, tensor: t.name,
                                               reason: "tensor is not listed for this shard in \(indexPath)")
                }
                infos[t.name] = t
            }
            metadata.merge(h.metadata) { first, _ in first }
        }
        if let index, let indexPath {
            for (name, shard) in index.weightMap where infos[name] == nil {
                throw OmniError.weightFile(file: indexPath, tensor: name,
                                           reason: "index names shard \(shard.lastPathComponent), which does not hold it")
            }
        }
        self.infos = infos
        self.names = infos.keys.sorted()
        self.metadata = metadata
        self.files = (indexPath.map { [$0] } ?? []) + headers.map(\.path)
        self.mapped = Dictionary(uniqueKeysWithValues: mapped.map { ($0.path, $0) })
    }

    func info(_ name: String) -> TensorInfo? { infos[name] }

    func tensor(_ name: String) throws -> Tensor {
        guard let info = infos[name], let file = mapped[info.file] else {
            throw OmniError.missingTensor(key: name, file: files.first)
        }
        return Tensor(storage: Storage(file: file, range: info.byteRange), shape: info.shape, dtype: info.dtype)
    }

    func prefetch(_ name: String) {
        guard let info = infos[name], let file = mapped[info.file] else { return }
        file.prefetch(info.byteRange)
    }

    func release(_ name: String) {
        guard let info = infos[name], let file = mapped[info.file] else { return }
        file.release(info.byteRange)
    }
}
