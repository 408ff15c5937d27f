/// A tensor shape: dimension sizes, outermost first (row-major, like torch).
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// Dimension sizes, outermost first.
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    /// Number of dimensions.
    public var rank: Int { dims.count }
    /// True when the product of the nonzero dimensions fits in `Int`, so row-major strides can be computed
    /// without overflow even when a zero dimension makes the element count 0.
    public var stridesFit: Bool {
        var n = 1
        for d in dims where d != 0 {
            guard d > 0 else { return false }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o { return false }
            n = m
        }
        return true
    }

    /// Product of the dimensions (1 for a scalar), or nil on overflow, a negative dimension, or dimensions whose
    /// strides would overflow (`[0, 2^40, 2^40]`): untrusted shapes from files are checked with this.
    public var checkedElementCount: Int? {
        guard stridesFit else { return nil }
        var n = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = m
        }
        return n
    }
    /// Product of the dimensions. Precondition: no overflow (use `checkedElementCount` on untrusted input).
    public var elementCount: Int { dims.reduce(1, *) }
    /// Size of dimension `i`; negative indices count from the end.
    public subscript(i: Int) -> Int { dims[i < 0 ? dims.count + i : i] }
    /// Row-major strides in elements.
    public var contiguousStrides: [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) { s[i] = acc; acc *= dims[i] }
        return s
    }
    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
