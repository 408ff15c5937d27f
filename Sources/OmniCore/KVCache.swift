/// Per-layer key/value cache, preallocated for `capacity` tokens and accounted as `kv_cache`.
///
/// Layout per slot: K and V are [capacity, kvHeads·headDim] f32 rows. A run appends this step's rows at
/// `length` in every cached attention node; the executor then advances `length` once for the whole step.
public final class KVCache: @unchecked Sendable {
    /// Tokens committed so far.
    public private(set) var length = 0
    /// Maximum tokens.
    public let capacity: Int
    /// Floats per row (kvHeads · headDim).
    public let rowWidth: Int
    /// K storage per slot: (capacity, rowWidth).
    private let keys: [Storage]
    /// V storage per slot: (capacity, rowWidth).
    private let values: [Storage]

    /// Allocates `slots` layers of `capacity` × `rowWidth` floats for K and for V on `device`.
    public init(slots: Int, capacity: Int, rowWidth: Int, device: any Device) throws {
        self.capacity = capacity
        self.rowWidth = rowWidth
        let bytes = capacity * rowWidth * 4
        var k: [Storage] = [], v: [Storage] = []
        for _ in 0..<slots {
            k.append(try device.allocate(bytes, kind: .kvCache))
            v.append(try device.allocate(bytes, kind: .kvCache))
        }
        keys = k
        values = v
    }

    /// Bytes this cache holds.
    public var byteCount: Int { keys.count * 2 * capacity * rowWidth * 4 }

    /// Pointer to K row 0 of `slot`.
    public func keyRows(_ slot: Int) -> UnsafeMutablePointer<Float> { keys[slot].base.assumingMemoryBound(to: Float.self) }
    /// Pointer to V row 0 of `slot`.
    public func valueRows(_ slot: Int) -> UnsafeMutablePointer<Float> { values[slot].base.assumingMemoryBound(to: Float.self) }

    /// Commits `count` appended tokens (the executor calls this once per step).
    public func advance(by count: Int) { length += count }

    /// Forgets everything (a new conversation).
    public func reset() { length = 0 }

    /// Drops the last tokens so the cache holds `newLength` (rewinding a rejected draft, or re-prompting).
    public func truncate(to newLength: Int) { precondition(newLength <= length); length = newLength }
}
