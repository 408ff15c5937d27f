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

/// One attention call on f32 data. Row t of Q holds all heads: `q[t * qRowStride + h * headDim + d]`;
/// K and V likewise with kvHeads (query head h uses KV head h / (heads / kvHeads)); out like Q.
public struct AttentionCall: @unchecked Sendable {
    public var shape: AttentionShape
    public var mask: AttentionMask
    public var q: UnsafePointer<Float>
    public var qRowStride: Int
    public var k: UnsafePointer<Float>
    public var kRowStride: Int
    public var v: UnsafePointer<Float>
    public var vRowStride: Int
    public var out: UnsafeMutablePointer<Float>
    public var outRowStride: Int
    /// Threads the backend may use.
    public var threads: Int

    public init(shape: AttentionShape, mask: AttentionMask,
                q: UnsafePointer<Float>, qRowStride: Int, k: UnsafePointer<Float>, kRowStride: Int,
                v: UnsafePointer<Float>, vRowStride: Int, out: UnsafeMutablePointer<Float>, outRowStride: Int,
                threads: Int = 1) {
        self.shape = shape
        self.mask = mask
        self.q = q; self.qRowStride = qRowStride
        self.k = k; self.kRowStride = kRowStride
        self.v = v; self.vRowStride = vRowStride
        self.out = out; self.outRowStride = outRowStride
        self.threads = threads
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
    /// Extra scratch bytes one call of this size needs (reported in memory accounting).
    func scratchBytes(for shape: AttentionShape, threads: Int) -> Int
    /// Computes `out = softmax(scale · Q·Kᵀ + mask) · V`.
    func run(_ call: AttentionCall) throws
}

extension AttentionBackend {
    /// Why this backend cannot take the call, or nil when it can.
    public func unsupportedReason(shape: AttentionShape, mask: AttentionMask, dtype: DType = .f32) -> String? {
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
    /// (every structural mask kind is a range); `explicit` is applied on top by the backend.
    @inlinable public func keyRange(query i: Int, keyLength: Int) -> Range<Int> {
        let qPos = keyOffset + i
        var lo = 0, hi = keyLength
        if causal { hi = min(hi, qPos + 1) }
        if let w = window { lo = max(lo, qPos - w + 1) }
        if let seg = segments {
            var s = 0
            while s + 1 < seg.count && seg[s + 1] <= i { s += 1 }
            if s + 1 < seg.count { lo = max(lo, seg[s]); hi = min(hi, seg[s + 1]) }
        }
        return lo..<max(lo, hi)
    }
}
