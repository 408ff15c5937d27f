import OmniCore

/// Which dtype each weight is computed in: `auto` keeps the checkpoint's dtype; an explicit dtype applies to
/// every floating-point weight of a component; token2wav always runs in f32 (as the reference forces).
/// Quantized targets (Q8_0, Q4_0) apply to matrices whose rows are whole blocks, except embedding tables;
/// vectors (norms, biases) then stay in their stored float dtype.
public struct DTypePolicy: Sendable, Hashable {
    /// Default for every component (nil = auto).
    public var all: DType?
    /// Per-component overrides.
    public var perComponent: [Component: DType]

    public init(_ all: DType? = nil, perComponent: [Component: DType] = [:]) {
        self.all = all
        self.perComponent = perComponent
    }

    /// `auto`: the checkpoint's dtypes.
    public static let auto = DTypePolicy()

    /// The dtype `key` (stored as `stored`, shaped `shape`) is computed in.
    public func dtype(for key: String, stored: DType, shape: Shape) -> DType {
        guard stored.isFloatingPoint else { return stored }
        let component = Component(key: key)
        if component == .token2wav { return .f32 }
        guard let target = component.flatMap({ perComponent[$0] }) ?? all else { return stored }
        if target.isQuantized {
            let isMatrix = shape.rank == 2 && shape[1] % target.blockElements == 0
            if !isMatrix || key.hasSuffix("embed_tokens.weight") || key.hasSuffix("embed_tokens") { return stored }
        }
        return target
    }
}
