/// Views that share storage, and the copy that makes a view contiguous.
extension Tensor {
    /// The same elements under another shape. Throws when counts differ or the tensor is not contiguous.
    public func reshaped(_ newShape: Shape) throws -> Tensor {
        guard newShape.checkedElementCount == elementCount else {
            throw OmniError.invalidArgument(name: "shape", expected: "\(elementCount) elements",
                                            actual: "\(newShape)")
        }
        guard isContiguous else {
            throw OmniError.invalidArgument(name: "tensor", expected: "contiguous tensor to reshape", actual: "strided")
        }
        guard layout == .standard else {
            throw OmniError.invalidArgument(name: "tensor", expected: "standard layout to reshape", actual: layout.rawValue)
        }
        return Tensor(storage: storage, byteOffset: byteOffset, shape: newShape, dtype: dtype)
    }

    /// Reorders dimensions (`permuted([1, 0])` transposes a matrix). No copy.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<shape.rank), "permutation \(axes) for rank \(shape.rank)")
        precondition(!dtype.isQuantized, "cannot permute a quantized tensor")
        return Tensor(storage: storage, byteOffset: byteOffset, shape: Shape(axes.map { shape.dims[$0] }),
                      strides: axes.map { strides[$0] }, dtype: dtype)
    }

    /// Rows `range` of dimension 0. No copy.
    public func slice(_ range: Range<Int>) -> Tensor {
        precondition(shape.rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape.dims[0],
                     "slice \(range) of \(shape)")
        precondition(layout == .standard, "slice of a tensor in layout \(layout)")
        var dims = shape.dims
        dims[0] = range.count
        let rowBytes: Int
        if dtype.isQuantized {
            rowBytes = dtype.byteCount(elements: shape.elementCount / max(shape.dims[0], 1)) ?? 0
        } else {
            rowBytes = strides[0] * dtype.blockBytes
        }
        return Tensor(storage: storage, byteOffset: byteOffset + range.lowerBound * rowBytes, shape: Shape(dims),
                      strides: strides, dtype: dtype)
    }

    /// Elements `range` of dimension `axis`. No copy.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        precondition(!dtype.isQuantized, "cannot slice a quantized tensor along an inner axis")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape.dims[axis], "slice \(range) of axis \(axis) in \(shape)")
        var dims = shape.dims
        dims[axis] = range.count
        return Tensor(storage: storage, byteOffset: byteOffset + range.lowerBound * strides[axis] * dtype.blockBytes,
                      shape: Shape(dims), strides: strides, dtype: dtype)
    }

    /// A contiguous copy (or `self` when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(zeros: shape, dtype: dtype)
        let size = dtype.blockBytes
        let dims = shape.dims
        let src = rawPointer
        let dst = out.storage.cpuAddress
        var index = [Int](repeating: 0, count: dims.count)
        for linear in 0..<elementCount {
            var off = 0
            for d in 0..<dims.count { off += index[d] * strides[d] }
            (dst + linear * size).copyMemory(from: src + off * size, byteCount: size)
            var d = dims.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < dims[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Elements as `[Float]`, widening f16 and bf16 and converting integers. Throws for quantized dtypes.
    public func floats() throws -> [Float] {
        let t = contiguous()
        defer { withExtendedLifetime(t) {} }   // p points into t's storage, which may be a fresh copy
        let n = t.elementCount
        let p = t.rawPointer
        switch dtype {
        case .f32: return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Float.self), count: n))
        case .bf16: return (0..<n).map { Scalar.bf16ToFloat(p.load(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .f16: return (0..<n).map { Scalar.f16ToFloat(p.load(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .i64: return (0..<n).map { Float(p.load(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .i32: return (0..<n).map { Float(p.load(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .i8: return (0..<n).map { Float(p.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: return (0..<n).map { Float(p.load(fromByteOffset: $0, as: UInt8.self)) }
        case .q8_0, .q4_0, .q5_0, .q4_k, .q6_k:
            throw OmniError.unsupported(what: "floats() of \(dtype)", reasons: ["dequantize with a DTypeConverter"])
        }
    }

    /// Elements as `[Int64]` for integer and bool dtypes. Throws for floating-point dtypes.
    public func int64s() throws -> [Int64] {
        let t = contiguous()
        defer { withExtendedLifetime(t) {} }
        let n = t.elementCount
        let p = t.rawPointer
        switch dtype {
        case .i64: return Array(UnsafeBufferPointer(start: p.assumingMemoryBound(to: Int64.self), count: n))
        case .i32: return (0..<n).map { Int64(p.load(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .i8: return (0..<n).map { Int64(p.load(fromByteOffset: $0, as: Int8.self)) }
        case .u8, .bool: return (0..<n).map { Int64(p.load(fromByteOffset: $0, as: UInt8.self)) }
        default:
            throw OmniError.dtypeMismatch(key: "int64s()", expected: "an integer dtype", actual: dtype)
        }
    }
}
