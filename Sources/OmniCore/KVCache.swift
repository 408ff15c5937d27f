import Foundation

/// Per-layer key/value cache, preallocated for `capacity` tokens on a device and accounted as `kv_cache`.
///
/// Layout per slot: K and V are [capacity, kvHeads·headDim] rows of `dtype` (f32, or bf16 where the executor keeps
/// its cache as transformers does in the bf16 compute mode: `KVCache.elementType`) in buffers the device owns. The cache is
/// written only by graph ops: a `cacheWrite(slot:)` node appends a step's rows at the slot's length and commits
/// them, and `cachedAttention` reads the slot, so any backend that runs the graph runs the cache. Each slot keeps
/// its own length; after a complete run every written slot has grown by the step's length.
///
/// A batched decode step runs over several sessions' caches at once through `KVCache(joining:)`: a view whose
/// slots are the members' slots in order (member b's layer i is slot b·layers + i), sharing their buffers and
/// committing into them. Thread safety: the lengths are behind a lock, so reading them from any thread is safe;
/// the rows themselves are written only by the executor's kernels, which run one graph at a time.
public final class KVCache: @unchecked Sendable {
    /// Maximum tokens (of a joined cache: the smallest member's).
    public let capacity: Int
    /// Floats per row (kvHeads · headDim).
    public let rowWidth: Int
    /// The device that owns the buffers.
    public let device: DeviceID
    /// Element type of the rows: f32 or bf16.
    public let dtype: DType
    /// K per slot: (capacity of its owner, rowWidth) of `dtype`.
    private let keys: [Tensor]
    /// V per slot: (capacity of its owner, rowWidth) of `dtype`.
    private let values: [Tensor]
    /// Where each slot's length lives: (owning cache, its slot); nil for a cache that owns its slots.
    private let members: [(cache: KVCache, slot: Int)]?
    /// Committed rows per slot (owned slots only).
    private var lengths: [Int]
    private let lock = NSLock()

    /// The element type an executor keeps its cache in: bf16 on a GPU in the bf16 compute mode (what transformers
    /// keeps with `torch_dtype=bfloat16`: half the bytes, so longer prompts and larger prefill chunks fit), f32
    /// otherwise (the CPU's kernels, and the f32 parity mode everywhere). The executor and the load plan both ask here.
    public static func elementType(precision: ComputePrecision, device: DeviceID) -> DType {
        precision == .bf16 && device != .cpu ? .bf16 : .f32
    }

    /// Allocates `slots` layers of `capacity` × `rowWidth` values of `dtype` (f32 or bf16) for K and for V on
    /// `device`. Throws for another dtype, naming it.
    public init(slots: Int, capacity: Int, rowWidth: Int, device: any Device, dtype: DType = .f32) throws {
        guard dtype == .f32 || dtype == .bf16 else {
            throw OmniError.invalidArgument(name: "KV cache dtype", expected: "f32 or bf16", actual: "\(dtype)")
        }
        self.capacity = capacity
        self.rowWidth = rowWidth
        self.device = device.id
        self.dtype = dtype
        let bytes = capacity * rowWidth * dtype.blockBytes
        var k: [Tensor] = [], v: [Tensor] = []
        for _ in 0..<slots {
            k.append(Tensor(storage: try device.allocate(bytes, kind: .kvCache), shape: [capacity, rowWidth], dtype: dtype))
            v.append(Tensor(storage: try device.allocate(bytes, kind: .kvCache), shape: [capacity, rowWidth], dtype: dtype))
        }
        keys = k
        values = v
        members = nil
        lengths = Array(repeating: 0, count: slots)
    }

    /// A view over `caches` (same row width, device and dtype): its slots are every member's slots in order, sharing
    /// the members' buffers; writes through it commit into the members. Throws when the caches differ in row
    /// width, device or dtype, or when `caches` is empty.
    public init(joining caches: [KVCache]) throws {
        guard let first = caches.first else {
            throw OmniError.invalidArgument(name: "caches", expected: "at least one KV cache to join", actual: "none")
        }
        for c in caches where c.rowWidth != first.rowWidth || c.device != first.device || c.dtype != first.dtype {
            throw OmniError.invalidArgument(name: "caches", expected: "row width \(first.rowWidth) of \(first.dtype) on \(first.device)",
                                            actual: "row width \(c.rowWidth) of \(c.dtype) on \(c.device)")
        }
        capacity = caches.map(\.capacity).min() ?? 0
        rowWidth = first.rowWidth
        device = first.device
        dtype = first.dtype
        var k: [Tensor] = [], v: [Tensor] = [], m: [(cache: KVCache, slot: Int)] = []
        for c in caches {
            for s in 0..<c.slots {
                k.append(c.keys(s))
                v.append(c.values(s))
                m.append(c.owner(of: s))
            }
        }
        keys = k
        values = v
        members = m
        lengths = []
    }

    /// The cache that holds `slot`'s length, and its slot there.
    private func owner(of slot: Int) -> (cache: KVCache, slot: Int) { members?[slot] ?? (self, slot) }

    /// Number of slots (layers; of a joined cache: all members' slots).
    public var slots: Int { keys.count }
    /// Bytes this cache's buffers hold (of a joined cache: the members' together).
    public var byteCount: Int { (0..<keys.count).reduce(0) { $0 + 2 * keys[$1].byteCount } }

    /// Tokens committed: the longest slot (after a complete run every written slot holds the same count).
    public var length: Int { slotLengths.max() ?? 0 }
    /// Tokens committed in `slot`.
    public func length(of slot: Int) -> Int {
        let (c, s) = owner(of: slot)
        c.lock.lock(); defer { c.lock.unlock() }
        return c.lengths[s]
    }
    /// Every slot's length, in slot order (`restore(_:)` takes it back).
    public var slotLengths: [Int] { (0..<keys.count).map { length(of: $0) } }

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
        let cap = keys[slot].shape[0], now = length(of: slot)
        guard now + rows <= cap else {
            throw OmniError.invalidArgument(name: "cache", expected: "≤ \(cap) tokens",
                                            actual: "\(now + rows) (raise the KV-cache capacity / max tokens)")
        }
    }

    /// Commits `count` rows just written at the end of `slot` (the `cacheWrite` kernel calls this).
    public func commit(slot: Int, count: Int) {
        let (c, s) = owner(of: slot)
        c.lock.lock(); defer { c.lock.unlock() }
        precondition(c.lengths[s] + count <= c.keys[s].shape[0], "cache slot \(slot) overflow")
        c.lengths[s] += count
    }

    /// Forgets everything (a new conversation).
    public func reset() { restore(Array(repeating: 0, count: keys.count)) }

    /// Drops the last tokens so every slot holds at most `newLength` (rewinding a rejected draft, re-prompting,
    /// or undoing a run that failed half way). Precondition: `newLength` ≤ `length`.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length)
        restore(slotLengths.map { min($0, newLength) })
    }

    /// Sets every slot back to `lengths` (from `slotLengths`), each at most its current length: undoes the
    /// rows a failed run committed, slot by slot (the slots of a joined cache may hold different counts).
    public func restore(_ lengths: [Int]) {
        precondition(lengths.count == keys.count, "restore: \(lengths.count) lengths for \(keys.count) slots")
        for (slot, n) in lengths.enumerated() {
            let (c, s) = owner(of: slot)
            c.lock.lock()
            precondition(n >= 0 && n <= c.lengths[s], "restore: slot \(slot) to \(n) of \(c.lengths[s])")
            c.lengths[s] = n
            c.lock.unlock()
        }
    }
}
