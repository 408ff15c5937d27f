import OmniCore

/// Which dtype each weight is computed in: `auto` keeps the checkpoint's dtype; an explicit dtype applies to
/// every floating-point weight of a component; token2wav always runs in f32 (as the reference forces).
/// Quantized targets (Q8_0, Q4_0) apply to matrices whose rows are whole blocks, except embedding tables that are
/// only that (a tied table is also the LM head and is quantized as llama.cpp quantizes `token_embd` of a tied model);
/// vectors (norms, biases) then stay in their stored float dtype.
public struct DTypePolicy: Sendable, Hashable {
    /// Default for every component (nil = auto).
    public var all: DType?
    /// Per-component overrides.
    public var perComponent: [Component: DType]
    /// Embedding tables that are also an LM head (`tied(_:)` fills it from the config): quantized like the linears.
    public var tiedTables: Set<String> = []

    public init(_ all: DType? = nil, perComponent: [Component: DType] = [:]) {
        self.all = all
        self.perComponent = perComponent
    }

    /// `auto`: the checkpoint's dtypes.
    public static let auto = DTypePolicy()

    /// This policy for a model whose `config` may tie the thinker's LM head to its token embedding.
    public func tied(_ config: OmniConfig) -> DTypePolicy {
        var p = self
        if config.thinker.tieWordEmbeddings { p.tiedTables.insert(ThinkerTextModel.tiedHeadKey) }
        return p
    }

    /// The dtype `key` (stored as `stored`, shaped `shape`) is computed in.
    public func dtype(for key: String, stored: DType, shape: Shape) -> DType {
        guard stored.isFloatingPoint else { return stored }
        let component = Component(key: key)
        if component == .token2wav { return .f32 }
        guard let target = component.flatMap({ perComponent[$0] }) ?? all else { return stored }
        if target.isQuantized {
            let isMatrix = shape.rank == 2 && shape[1] % target.blockElements == 0
            if !isMatrix { return stored }
            if (key.hasSuffix("embed_tokens.weight") || key.hasSuffix("embed_tokens")) && !tiedTables.contains(key) { return stored }
        }
        return target
    }
}
