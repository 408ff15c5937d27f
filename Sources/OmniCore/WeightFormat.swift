import Foundation

/// What a weight-format plugin can do.
public struct WeightFormatCapabilities: Sendable, Hashable {
    /// It can open and read this format.
    public var canRead: Bool
    /// It can write this format.
    public var canWrite: Bool
    /// Element types it can store.
    public var dtypes: Set<DType>
    /// File extensions it recognizes (without the dot), for listings.
    public var fileExtensions: [String]

    public init(canRead: Bool, canWrite: Bool, dtypes: Set<DType>, fileExtensions: [String]) {
        self.canRead = canRead
        self.canWrite = canWrite
        self.dtypes = dtypes
        self.fileExtensions = fileExtensions
    }
}

/// Where one tensor lives and what it is, read from headers only.
public struct TensorInfo: Sendable, Hashable {
    /// Checkpoint name (`thinker.model.layers.0.mlp.up_proj.weight`).
    public var name: String
    /// Stored element type.
    public var dtype: DType
    /// Logical shape, outermost first.
    public var shape: Shape
    /// File holding the bytes.
    public var file: String
    /// Byte span inside `file` (for compressed containers: the compressed span).
    public var byteRange: Range<Int>

    public init(name: String, dtype: DType, shape: Shape, file: String, byteRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.file = file
        self.byteRange = byteRange
    }
}

/// An opened checkpoint: tensors keyed by checkpoint name, read lazily.
public protocol WeightSource: AnyObject, Sendable {
    /// The plugin that opened it (`safetensors`, `gguf`…).
    var formatName: String { get }
    /// Every file that belongs to the checkpoint.
    var files: [String] { get }
    /// Free-form metadata (`__metadata__` of safetensors, GGUF key-values as text).
    var metadata: [String: String] { get }
    /// Tensor names, sorted.
    var names: [String] { get }
    /// Header information for `name`, or nil when absent.
    func info(_ name: String) -> TensorInfo?
    /// The tensor's stored bytes as a tensor, zero-copy where the format allows (mmap).
    /// Throws `OmniError.missingTensor` or a `weightFile` error naming the file and tensor.
    func tensor(_ name: String) throws -> Tensor
    /// Hint: `name` will be needed soon (the disk tier prefetches the next layers).
    func prefetch(_ name: String)
    /// Hint: `name`'s pages may be dropped until next use.
    func release(_ name: String)
}

extension WeightSource {
    public func prefetch(_ name: String) {}
    public func release(_ name: String) {}
}

/// One tensor to write: its header, and a closure that yields its bytes when the writer reaches it,
/// so that writers stream a checkpoint without holding it all in memory.
public struct TensorEntry: Sendable {
    public var name: String
    public var dtype: DType
    public var shape: Shape
    public var load: @Sendable () throws -> Tensor

    public init(name: String, dtype: DType, shape: Shape, load: @escaping @Sendable () throws -> Tensor) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.load = load
    }
}

/// How to write a checkpoint.
public struct WeightWriteOptions: Sendable {
    /// Split into shards no larger than this (nil: one file).
    public var maxShardBytes: Int?
    /// Metadata to store where the format has a place for it.
    public var metadata: [String: String]

    public init(maxShardBytes: Int? = nil, metadata: [String: String] = [:]) {
        self.maxShardBytes = maxShardBytes
        self.metadata = metadata
    }
}

/// A weight-file format plugin.
public protocol WeightFormat: Sendable {
    /// Short name used on the command line (`safetensors`, `gguf`, `zstd`, `torch`).
    var name: String { get }
    /// What it can do.
    var capabilities: WeightFormatCapabilities { get }
    /// Cheap check (extension, magic bytes) whether `url` (a file or a model folder) is in this format.
    func canOpen(_ url: URL) -> Bool
    /// Opens `url`, validating headers; reads no tensor data.
    func open(_ url: URL) throws -> any WeightSource
    /// Writes `entries` to `url` (a file path, or a folder for sharded output); returns the files written.
    /// Writers write to temporary files renamed into place, so a failure leaves no partial file.
    func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL]
}

extension WeightFormat {
    public func write(_ entries: [TensorEntry], to url: URL, options: WeightWriteOptions) throws -> [URL] {
        throw OmniError.unsupported(what: "writing \(name) files", reasons: ["the \(name) plugin reads only"])
    }
}
