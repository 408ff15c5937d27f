extension Dictionary {
    /// The value stored under `key`; when the stored key is equal to `key` but `isSame` says it is another instance,
    /// the entry is moved under `key`. Executors key plan caches by graph, and a new session builds its own (equal)
    /// decode graph: its first lookup compares every node, and this makes its later lookups compare by identity
    /// (`Graph.isSameInstance`) instead of walking the graph again on every token.
    public mutating func value(adoptingKey key: Key, isSame: (Key, Key) -> Bool) -> Value? {
        guard let i = index(forKey: key) else { return nil }
        let (stored, value) = self[i]
        if !isSame(stored, key) {
            remove(at: i)
            self[key] = value
        }
        return value
    }
}
