import Dispatch
/// The kinds of masking an attention call can ask for.
public enum AttentionMaskKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Query i (absolute position `keyOffset + i`) sees keys j ≤ keyOffset + i.
    case causal
    /// Block-diagonal: tokens attend only inside their segment (`cu_seqlens`); needs qLen == kvLen.
    case segments
    /// Key j is visible from query i only if (keyOffset + i) − j < window.
    case slidingWindow
    /// An additive f32 mask [qLen, kvLen] (0 to keep, −∞ or a large negative number to drop).
    case explicit
    public var description: String { rawValue }
}

/// The mask semantics of one attention call. They travel with the call, so a backend cannot ignore them:
/// selection refuses a backend that does not declare every kind in `kinds`.
public struct AttentionMask: Sendable {
    /// Causal masking on.
    public var causal: Bool
    /// Absolute position of query 0 among the keys (the KV-cache length before this step).
    public var keyOffset: Int
    /// Segment boundaries (cu_seqlens: 0, …, qLen) for block-diagonal attention.
    public var segments: [Int]?
    /// Sliding window size in keys.
    public var window: Int?
    /// Additive mask [qLen, kvLen], f32, contiguous.
    public var explicit: Tensor?

    public init(causal: Bool = false, keyOffset: Int = 0, segments: [Int]? = nil, window: Int? = nil,
                explicit: Tensor? = nil) {
        self.causal = causal
        self.keyOffset = keyOffset
        self.segments = segments
        self.window = window
        self.explicit = explicit
    }

    /// No masking: every query sees every key.
    public static let none = AttentionMask()
    /// Causal with `offset` keys already in the cache.
    public static func causal(offset: Int = 0) -> AttentionMask { AttentionMask(causal: true, keyOffset: offset) }

    /// The kinds a backend must support to honour this mask.
    public var kinds: Set<AttentionMaskKind> {
        var k = Set<AttentionMaskKind>()
        if causal { k.insert(.causal) }
        if segments != nil { k.insert(.segments) }
        if window != nil { k.insert(.slidingWindow) }
        if explicit != nil { k.insert(.explicit) }
        return k
    }

    /// Whether query `i` may see key `j` under the structural parts of the mask (not `explicit`).
    @inlinable public func allows(query i: Int, key j: Int) -> Bool {
        let qPos = keyOffset + i
        if causal && j > qPos { return false }
        if let w = window, qPos - j >= w { return false }
        if let seg = segments {
            // Same segment: the last boundary ≤ index must match.
            var si = 0, sj = 0
            while si + 1 < seg.count && seg[si + 1] <= i { si += 1 }
            while sj + 1 < seg.count && seg[sj + 1] <= j { sj += 1 }
            if si != sj { return false }
        }
        return true
    }
}

/// Problem size of one attention call.
public struct AttentionShape: Sendable, Hashable, CustomStringConvertible {
    public var queryLength: Int
    public var keyLength: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Multiplier applied to Q·Kᵀ (usually headDim^-0.5).
    public var scale: Float

    public init(queryLength: Int, keyLength: Int, heads: Int, kvHeads: Int, headDim: Int, scale: Float? = nil) {
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }

    public var description: String {
        "q \(queryLength) × kv \(keyLength), heads \(heads)/\(kvHeads), headDim \(headDim)"
    }
}

/// One attention call on f32 data. Row t of Q holds all heads: element (t, h, d) is `q[t, h * headDim + d]`; K and V
/// likewise with kvHeads (query head h uses KV head h / (heads / kvHeads)); out like Q.
///
/// Everything is a tensor on the call's device (row strides are the tensors' `strides[0]`; columns are
/// contiguous), never a host pointer: a backend that runs on the CPU takes host views through `cpuView()`, a
/// device backend reads the tensors' buffers on its device. `scratch` is the `scratchBytes(for:threads:)` the
/// backend asked for, allocated by the executor from the device's allocator, so the scratch that is accounted is
/// the scratch that is used.
public struct AttentionCall: Sendable {
    public var shape: AttentionShape
    public var mask: AttentionMask
    /// (queryLength, ≥ heads·headDim) f32.
    public var q: Tensor
    /// (keyLength, ≥ kvHeads·headDim) f32.
    public var k: Tensor
    /// (keyLength, ≥ kvHeads·headDim) f32.
    public var v: Tensor
    /// (queryLength, ≥ heads·headDim) f32, written by the backend.
    public var out: Tensor
    /// At least `scratchBytes(for: shape, threads: threads)` bytes for the backend's own use.
    public var scratch: Tensor
    /// Threads the backend may use.
    public var threads: Int
    /// Where the tensors live.
    public var device: DeviceID
    /// Runs `body(i)` for i in 0..<n on the caller's worker threads and returns when all are done: a CPU executor
    /// hands its own thread pool here, so attention runs on the threads that run every other kernel instead of
    /// waking a second pool beside them (nil: the backend picks, e.g. `DispatchQueue.concurrentPerform`).
    public var parallel: (@Sendable (Int, (Int) -> Void) -> Void)?

    public init(shape: AttentionShape, mask: AttentionMask, q: Tensor, k: Tensor, v: Tensor, out: Tensor,
                scratch: Tensor, threads: Int = 1, device: DeviceID = .cpu,
                parallel: (@Sendable (Int, (Int) -> Void) -> Void)? = nil) {
        self.shape = shape
        self.mask = mask
        self.q = q; self.k = k; self.v = v; self.out = out
        self.scratch = scratch
        self.threads = threads
        self.device = device
        self.parallel = parallel
    }

    /// Runs `body(i)` for i in 0..<n through `parallel`, or `DispatchQueue.concurrentPerform` without one; n ≤ 1
    /// runs on the calling thread.
    public func forEach(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 { if n == 1 { body(0) }; return }
        if let parallel { parallel(n, body) } else { DispatchQueue.concurrentPerform(iterations: n, execute: body) }
    }

    /// Host views of the call's tensors, for backends that run on the CPU. Throws when the tensors live on
    /// another device, or when one is not f32 rows with contiguous columns. The pointers are valid while the
    /// call is (a backend holds its call for the whole `run`).
    public func cpuView() throws -> CPUAttentionView {
        guard device == .cpu else {
            throw OmniError.unsupported(what: "host view of attention tensors", reasons: ["they live on \(device)"])
        }
        func rows(_ t: Tensor, _ name: String, _ width: Int, _ count: Int) throws -> Int {
            guard t.dtype == .f32, t.shape.rank == 2, t.shape[0] >= count, t.shape[1] >= width,
                  t.strides[1] == 1 || t.shape[1] == 1 else {
                throw OmniError.invalidArgument(name: "attention \(name)", expected: "f32 rows [\(count), ≥ \(width)]",
                                                actual: "\(t.dtype) \(t.shape) strides \(t.strides)")
            }
            return t.strides[0]
        }
        let s = shape
        let qs = try rows(q, "q", s.heads * s.headDim, s.queryLength)
        let ks = try rows(k, "k", s.kvHeads * s.headDim, s.keyLength)
        let vs = try rows(v, "v", s.kvHeads * s.headDim, s.keyLength)
        let os = try rows(out, "out", s.heads * s.headDim, s.queryLength)
        guard !out.storage.isReadOnly, !scratch.storage.isReadOnly else {
            throw OmniError.invalidArgument(name: "attention out", expected: "writable memory", actual: "a read-only mapping")
        }
        return CPUAttentionView(q: q.rawPointer.assumingMemoryBound(to: Float.self), qRowStride: qs,
                                k: k.rawPointer.assumingMemoryBound(to: Float.self), kRowStride: ks,
                                v: v.rawPointer.assumingMemoryBound(to: Float.self), vRowStride: vs,
                                out: out.mutableRawPointer.assumingMemoryBound(to: Float.self), outRowStride: os,
                                scratch: scratch.mutableRawPointer, scratchBytes: scratch.storage.byteCount - scratch.byteOffset,
                                explicit: try mask.explicit.map { m -> UnsafePointer<Float> in
                                    guard m.dtype == .f32, m.isContiguous, m.elementCount == s.queryLength * s.keyLength else {
                                        throw OmniError.invalidArgument(name: "attention mask", expected: "contiguous f32 [\(s.queryLength), \(s.keyLength)]",
                                                                        actual: "\(m.dtype) \(m.shape)")
                                    }
                                    return m.rawPointer.assumingMemoryBound(to: Float.self)
                                })
    }
}

/// Host addresses of one call's tensors: what a CPU attention kernel computes on. Only CPU backends see it.
public struct CPUAttentionView: @unchecked Sendable {
    public let q: UnsafePointer<Float>
    public let qRowStride: Int
    public let k: UnsafePointer<Float>
    public let kRowStride: Int
    public let v: UnsafePointer<Float>
    public let vRowStride: Int
    public let out: UnsafeMutablePointer<Float>
    public let outRowStride: Int
    let scratch: UnsafeMutableRawPointer
    let scratchBytes: Int
    /// The additive mask [queryLength, keyLength], when the call has one.
    public let explicit: UnsafePointer<Float>?

    /// `floats` f32 of the call's scratch. Throws when the executor allocated less than the backend declared.
    public func scratch(floats: Int) throws -> UnsafeMutablePointer<Float> {
        guard floats * 4 <= scratchBytes else {
            throw OmniError.invalidArgument(name: "attention scratch", expected: "\(floats * 4) bytes", actual: "\(scratchBytes)")
        }
        return scratch.assumingMemoryBound(to: Float.self)
    }
}

/// What an attention backend supports.
public struct AttentionCapabilities: Sendable, Hashable {
    /// Element types of Q/K/V it computes in.
    public var dtypes: Set<DType>
    /// Largest head dimension.
    public var maxHeadDim: Int
    /// Mask kinds it honours.
    public var maskKinds: Set<AttentionMaskKind>
    /// It handles kvHeads < heads itself.
    public var groupedQuery: Bool

    public init(dtypes: Set<DType>, maxHeadDim: Int, maskKinds: Set<AttentionMaskKind>, groupedQuery: Bool) {
        self.dtypes = dtypes
        self.maxHeadDim = maxHeadDim
        self.maskKinds = maskKinds
        self.groupedQuery = groupedQuery
    }
}

/// An attention implementation (`eager`, `flash_attention_2`, or one a user registers).
public protocol AttentionBackend: Sendable {
    /// Name as users spell it (`attn_implementation`).
    var name: String { get }
    /// What it supports.
    var capabilities: AttentionCapabilities { get }
    /// Kinds of the devices whose tensors it computes on (`cpu`, later `cuda`); CPU only unless it says more.
    var deviceKinds: Set<String> { get }
    /// Scratch bytes one call of this size needs: the executor allocates them from the device and passes them in
    /// the call's `scratch` (so memory accounting reports exactly this).
    func scratchBytes(for shape: AttentionShape, threads: Int) -> Int
    /// Computes `out = softmax(scale · Q·Kᵀ + mask) · V`.
    func run(_ call: AttentionCall) throws
}

extension AttentionBackend {
    /// CPU only.
    public var deviceKinds: Set<String> { ["cpu"] }

    /// Why this backend cannot take the call, or nil when it can.
    public func unsupportedReason(shape: AttentionShape, mask: AttentionMask, dtype: DType = .f32,
                                  device: DeviceID = .cpu) -> String? {
        if !deviceKinds.contains(device.kind) { return "does not run on \(device)" }
        let caps = capabilities
        if !caps.dtypes.contains(dtype) { return "\(dtype) not supported" }
        if shape.headDim > caps.maxHeadDim { return "head dim \(shape.headDim) > \(caps.maxHeadDim)" }
        if shape.kvHeads != shape.heads && !caps.groupedQuery { return "grouped-query attention not supported" }
        let missing = mask.kinds.subtracting(caps.maskKinds)
        if !missing.isEmpty {
            return missing.map(\.rawValue).sorted().joined(separator: ", ") + " mask not supported"
        }
        return nil
    }
}

extension AttentionMask {
    /// The contiguous key range that query `i` may see under causal, window and segment masking
    /// (every structural mask kind is a range); `explicit` is applied on top by the backend. The segment is found
    /// by binary search over the (ascending) boundaries: a video's vision tower has thousands of windows, and a
    /// scan per query made the ranges of one layer cost O(rows × windows).
    @inlinable public func keyRange(query i: Int, keyLength: Int) -> Range<Int> {
        let qPos = keyOffset + i
        var lo = 0, hi = keyLength
        if causal { hi = min(hi, qPos + 1) }
        if let w = window { lo = max(lo, qPos - w + 1) }
        if let seg = segments {
            // s = the number of boundaries after the first that are ≤ i: the first j ≥ 1 with seg[j] > i, less one.
            var a = 1, b = seg.count
            while a < b {
                let m = (a + b) / 2
                if seg[m] <= i { a = m + 1 } else { b = m }
            }
            let s = a - 1
            if s + 1 < seg.count { lo = max(lo, seg[s]); hi = min(hi, seg[s + 1]) }
        }
        return lo..<max(lo, hi)
    }
}
