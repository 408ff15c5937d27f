/// Per-layer key/value cache, preallocated for `capacity` tokens on a device and accounted as `kv_cache`.
///
/// Layout per slot: K and V are [capacity, kvHeads·headDim] f32 rows in buffers the device owns. The cache is
/// written only by graph ops: a `cacheWrite(slot:)` node appends a step's rows at the slot's length and commits
/// them, and `cachedAttention` reads the slot, so any backend that runs the graph runs the cache. Each slot keeps
/// its own length; after a complete run every written slot has grown by the step's length.
public final class KVCache: @unchecked Sendable {
    /// Maximum tokens.
    public let capacity: Int
    /// Floats per row (kvHeads · headDim).
    public let rowWidth: Int
    /// The device that owns the buffers.
    public let device: DeviceID
    /// K per slot: (capacity, rowWidth) f32.
    private let keys: [Tensor]
    /// V per slot: (capacity, rowWidth) f32.
    private let values: [Tensor]
    /// Committed rows per slot.
    private var lengths: [Int]

    /// Allocates `slots` layers of `capacity` × `rowWidth` floats for K and for V on `device`.
    public init(slots: Int, capacity: Int, rowWidth: Int, device: any Device) throws {
        self.capacity = capacity
        self.rowWidth = rowWidth
        self.device = device.id
        let bytes = capacity * rowWidth * 4
        var k: [Tensor] = [], v: [Tensor] = []
        for _ in 0..<slots {
            k.append(Tensor(storage: try device.allocate(bytes, kind: .kvCache), shape: [capacity, rowWidth], dtype: .f32))
            v.append(Tensor(storage: try device.allocate(bytes, kind: .kvCache), shape: [capacity, rowWidth], dtype: .f32))
        }
        keys = k
        values = v
        lengths = Array(repeating: 0, count: slots)
    }

    /// Number of slots (layers).
    public var slots: Int { keys.count }
    /// Bytes this cache holds.
    public var byteCount: Int { keys.count * 2 * capacity * rowWidth * 4 }

    /// Tokens committed: the longest slot (after a complete run every written slot holds the same count).
    public var length: Int { lengths.max() ?? 0 }
    /// Tokens committed in `slot`.
    public func length(of slot: Int) -> Int { lengths[slot] }

    /// The K rows of `slot`: a [capacity, rowWidth] view of the device buffer (rows ≥ `length(of:)` are unused).
    /// Kernels of the backend that owns the cache read and write through it; nothing else does.
    public func keys(_ slot: Int) -> Tensor { keys[slot] }
    /// The V rows of `slot`, as `keys(_:)`.
    public func values(_ slot: Int) -> Tensor { values[slot] }

    /// Checks that `rows` more rows of `width` fit in `slot`; throws naming the cache and the capacity.
    public func checkAppend(slot: Int, rows: Int, width: Int) throws {
        guard slot >= 0, slot < keys.count else {
            throw OmniError.invalidArgument(name: "cache slot", expected: "0..<\(keys.count)", actual: "\(slot)")
        }
        guard width == rowWidth else {
            throw OmniError.invalidArgument(name: "cache", expected: "row width \(rowWidth)", actual: "\(width)")
        }
        guard lengths[slot] + rows <= capacity else {
            throw OmniError.invalidArgument(name: "cache", expected: "≤ \(capacity) tokens",
                                            actual: "\(lengths[slot] + rows) (raise the KV-cache capacity / max tokens)")
        }
    }

    /// Commits `count` rows just written at the end of `slot` (the `cacheWrite` kernel calls this).
    public func commit(slot: Int, count: Int) {
        precondition(lengths[slot] + count <= capacity, "cache slot \(slot) overflow")
        lengths[slot] += count
    }

    /// Forgets everything (a new conversation).
    public func reset() { lengths = lengths.map { _ in 0 } }

    /// Drops the last tokens so every slot holds at most `newLength` (rewinding a rejected draft, re-prompting,
    /// or undoing a run that failed half way). Precondition: `newLength` ≤ `length`.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length)
        lengths = lengths.map { min($0, newLength) }
    }
}
