/// A prefix-scoped weight name builder, so model code never concatenates key strings by hand:
/// `WeightScope("thinker.model").layer(3)["self_attn.q_proj.weight"]` → `thinker.model.layers.3.self_attn.q_proj.weight`.
public struct WeightScope: Sendable, Hashable {
    /// The dotted prefix ("" for the root).
    public let prefix: String
    public init(_ prefix: String) { self.prefix = prefix }
    /// A nested scope.
    public func scoped(_ name: String) -> WeightScope { WeightScope(key(name)) }
    /// The scope of decoder layer `i` (`prefix.layers.i`).
    public func layer(_ i: Int) -> WeightScope { scoped("layers.\(i)") }
    /// The full key of `name` in this scope.
    public subscript(_ name: String) -> String { key(name) }
    private func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
}
