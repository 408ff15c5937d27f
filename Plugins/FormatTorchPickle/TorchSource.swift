import OmniCore

/// An opened PyTorch zip checkpoint: tensors are views of the mapped archive (strided where the pickle
/// says so), never copies; non-tensor leaves are in `metadata`.
final class TorchSource: WeightSource, @unchecked Sendable {
    let formatName = "torch"
    let files: [String]
    let metadata: [String: String]
    let names: [String]
    private let checkpoint: TorchCheckpoint
    private let file: MappedFile

    /// Opens and validates `path`.
    init(path: String) throws {
        let file = try MappedFile(path: path)
        let c = try TorchCheckpoint(file: file)
        self.file = file
        self.checkpoint = c
        self.files = [path]
        self.metadata = c.metadata
        self.names = c.tensors.keys.sorted()
    }

    func info(_ name: String) -> TensorInfo? { checkpoint.tensors[name]?.info }

    func tensor(_ name: String) throws -> Tensor {
        guard let t = checkpoint.tensors[name] else { throw OmniError.missingTensor(key: name, file: files.first) }
        // The storage spans from the first reached byte; the view starts at offset 0 within it.
        let storage = Storage(file: file, range: t.info.byteRange)
        let contiguous = t.strides == t.info.shape.contiguousStrides
        return Tensor(storage: storage, byteOffset: 0, shape: t.info.shape,
                      strides: contiguous ? nil : t.strides, dtype: t.info.dtype)
    }

    func prefetch(_ name: String) {
        if let r = checkpoint.tensors[name]?.info.byteRange { file.prefetch(r) }
    }

    func release(_ name: String) {
        if let r = checkpoint.tensors[name]?.info.byteRange { file.release(r) }
    }
}
