import OmniCore

/// A plan cache key: the graph itself (hashed by its structure, compared node by node) and the kept names.
struct PlanKey: Hashable {
    let graph: Graph
    let keep: Set<String>

    /// Whether `a` and `b` hold the same graph instance (`Dictionary.value(adoptingKey:isSame:)`).
    static func same(_ a: PlanKey, _ b: PlanKey) -> Bool { a.graph.isSameInstance(as: b.graph) && a.keep == b.keep }
}

/// f32 conversions of weights, per provider: a provider is identified by object identity, and a weak reference
/// tells a live provider from a new one that happens to reuse a freed provider's address.
struct ConvertedWeights {
    private struct Entry {
        weak var provider: AnyObject?
        var tensors: [String: Tensor]
    }
    private var entries: [ObjectIdentifier: Entry] = [:]

    /// The conversion of `key` made for this very provider, if any.
    func lookup(provider: (any WeightProvider)?, key: String) -> Tensor? {
        guard let p = provider, let e = entries[ObjectIdentifier(p)], e.provider === p else { return nil }
        return e.tensors[key]
    }

    /// Remembers `tensor` as `provider`'s `key`; entries of providers that are gone are dropped.
    mutating func store(_ tensor: Tensor, provider: (any WeightProvider)?, key: String) {
        guard let p = provider else { return }
        let id = ObjectIdentifier(p)
        if entries[id]?.provider !== p {
            entries = entries.filter { $0.value.provider != nil && $0.key != id }
            entries[id] = Entry(provider: p, tensors: [:])
        }
        entries[id]?.tensors[key] = tensor
    }
}
