/// A (source, target) pair of element types.
public struct DTypePair: Hashable, Sendable, CustomStringConvertible {
    public var from: DType
    public var to: DType
    public init(_ from: DType, _ to: DType) { self.from = from; self.to = to }
    public var description: String { "\(from)→\(to)" }
}

/// Converts buffers between element types (widen, narrow, quantize, dequantize).
public protocol DTypeConverter: Sendable {
    /// Plugin name (`standard`, `quantize`…).
    var name: String { get }
    /// Every pair it converts.
    var conversions: Set<DTypePair> { get }
    /// Converts `count` elements from `src` (of `from`) into `dst` (of `to`).
    /// `count` must be a whole number of blocks of both types; buffers must not overlap.
    func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, _ to: DType, count: Int) throws
}

extension DTypeConverter {
    /// True when this plugin converts `from` → `to`.
    public func supports(from: DType, to: DType) -> Bool { conversions.contains(DTypePair(from, to)) }
}
