/// An n-dimensional array: a typed, shaped (possibly strided) view of a `Storage`.
///
/// Views (`reshaped`, `permuted`, `slice`) share storage; `contiguous()` copies only when needed.
/// Quantized tensors are always contiguous and their last dimension is a whole number of blocks.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    /// The bytes.
    public let storage: Storage
    /// Offset of element 0 from the storage's first byte, in bytes.
    public let byteOffset: Int
    /// Dimension sizes, outermost first.
    public let shape: Shape
    /// Element strides per dimension (in elements; meaningless for quantized dtypes, which must be contiguous).
    public let strides: [Int]
    /// Element type.
    public let dtype: DType
    /// How the blocks are arranged (`.standard` unless a kernel's layout was asked for, see `TensorLayout`).
    public let layout: TensorLayout

    /// A view of existing storage. Precondition: the view lies inside the storage.
    public init(storage: Storage, byteOffset: Int = 0, shape: Shape, strides: [Int]? = nil, dtype: DType,
                layout: TensorLayout = .standard) {
        self.storage = storage
        self.byteOffset = byteOffset
        self.shape = shape
        self.strides = strides ?? shape.contiguousStrides
        self.dtype = dtype
        self.layout = layout
        precondition(layout.admits(dtype: dtype, shape: shape), "layout \(layout) does not fit \(dtype) \(shape)")
        precondition(self.strides.count == shape.rank, "strides rank \(self.strides.count) != shape rank \(shape.rank)")
        if strides == nil, let n = dtype.byteCount(elements: shape.elementCount) {
            precondition(byteOffset + n <= storage.byteCount, "tensor \(shape) \(dtype) exceeds its storage")
        }
    }

    /// A new zero-filled, contiguous tensor. Precondition: `shape` is a whole number of blocks of `dtype`.
    public init(zeros shape: Shape, dtype: DType = .f32) {
        guard let n = dtype.byteCount(elements: shape.elementCount) else {
            preconditionFailure("\(shape) is not a whole number of \(dtype) blocks")
        }
        self.init(storage: Storage(zeroedByteCount: n), shape: shape, dtype: dtype)
    }

    /// A new f32 tensor holding `values`. Precondition: `values.count == shape.elementCount`.
    public init(_ values: [Float], shape: Shape) {
        precondition(values.count == shape.elementCount, "\(values.count) values for shape \(shape)")
        self.init(zeros: shape, dtype: .f32)
        values.withUnsafeBytes { storage.cpuAddress.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// A new i64 tensor holding `values`. Precondition: `values.count == shape.elementCount`.
    public init(int64 values: [Int64], shape: Shape) {
        precondition(values.count == shape.elementCount, "\(values.count) values for shape \(shape)")
        self.init(zeros: shape, dtype: .i64)
        values.withUnsafeBytes { storage.cpuAddress.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    /// Number of elements.
    public var elementCount: Int { shape.elementCount }
    /// Bytes covered by a contiguous tensor.
    public var byteCount: Int { dtype.byteCount(elements: elementCount) ?? 0 }
    /// True when the elements are laid out row-major without gaps.
    public var isContiguous: Bool { strides == shape.contiguousStrides || elementCount <= 1 }
    /// The device that owns this tensor's bytes.
    public var device: DeviceID { storage.device }
    /// Address of element 0: the CPU-only view that host code and CPU kernels use (precondition: host memory;
    /// a tensor on another device is read through its backend's copy). Valid only while this tensor's storage is alive: Swift may release a tensor right
    /// after its last use, so never take the pointer of a temporary (`f().rawPointer`, `t.contiguous().rawPointer`)
    /// and use it later; use `withContiguousBytes` or `withExtendedLifetime`.
    public var rawPointer: UnsafeRawPointer { UnsafeRawPointer(storage.cpuAddress + byteOffset) }

    /// Calls `body` with the address of this tensor's elements laid out contiguously (a copy when it is a
    /// strided view), keeping that storage alive for the call.
    public func withContiguousBytes<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        let c = contiguous()
        return try withExtendedLifetime(c) { try body(c.rawPointer) }
    }
    /// Writable address of element 0. Precondition: the storage is not a read-only mapping.
    public var mutableRawPointer: UnsafeMutableRawPointer {
        precondition(!storage.isReadOnly, "writing into a read-only mapped tensor")
        return storage.cpuAddress + byteOffset
    }

    /// f32 elements of a contiguous f32 tensor. Precondition: dtype f32 and contiguous.
    public var floatPointer: UnsafeMutablePointer<Float> {
        precondition(dtype == .f32 && isContiguous, "floatPointer needs a contiguous f32 tensor, got \(dtype) \(shape)")
        return (storage.cpuAddress + byteOffset).assumingMemoryBound(to: Float.self)
    }

    public var description: String { layout == .standard ? "Tensor(\(dtype), \(shape))" : "Tensor(\(dtype), \(shape), \(layout))" }
}
