/// A value in a graph: the index of the node that produces it.
public struct ValueID: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public var description: String { "%\(index)" }
}

/// Rotary embedding variants.
public enum RopeKind: Sendable, Hashable {
    /// Multimodal RoPE (Qwen2.5-Omni text/talker): frequency j takes its position from row `section(j)` of a
    /// [3, T] position tensor; half-split `rotate_half` convention; `sections` sums to headDim/2.
    case multimodal(sections: [Int])
    /// Plain 1-D RoPE from a [T] or [1, T] position tensor (half-split convention).
    case standard
    /// GPT-J-style RoPE from a [T] position tensor: pairs (x_2j, x_2j+1) turn by pos · θ^(−2j/headDim) (the DiT's
    /// de-interleave + rotate_half on its first head).
    case interleaved
    /// Axial 2-D RoPE of the vision tower from positions [2, T] (row y, column x): frequency j < headDim/4 turns
    /// with y, the next headDim/4 with x, each at θ^(−4·(j mod headDim/4)/headDim); half-split convention.
    case axial2D

    /// Rows of the position tensor this kind reads: [T] for standard and interleaved, [2, T] axial, [3, T] multimodal.
    public var positionRows: Int {
        switch self {
        case .standard, .interleaved: return 1
        case .axial2D: return 2
        case .multimodal: return 3
        }
    }
}

/// Parameter-free elementwise functions of one `unary` op kind.
public enum UnaryKind: Sendable, Hashable {
    /// max(x, 0).
    case relu
    /// 1 / (1 + e^−x).
    case sigmoid
    /// tanh(x).
    case tanh
    /// sqrt(max(x, floor)) (a clamped standard deviation, as ECAPA's attentive pooling takes it).
    case sqrt(floor: Float)
}

/// What an attention node computes; the mask travels with the node into the backend call.
public struct AttentionSpec: Sendable, Hashable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// Causal masking (with the cache length as key offset).
    public var causal: Bool
    /// Sliding window in keys, or nil.
    public var window: Int?
    /// KV-cache slot (a decoder layer index): the graph builder emits a `cacheWrite` of this step's K and V into
    /// the slot and a `cachedAttention` over everything the slot holds. nil: attention over this call's K and V.
    public var cacheSlot: Int?
    /// Block-diagonal segments (cu_seqlens: 0, …, T): a query sees only keys of its own segment. nil: one segment.
    public var segments: [Int]?
    /// Attention implementation chain for this component (first supported wins; see PluginRegistry).
    public var backendChain: [String]

    public init(heads: Int, kvHeads: Int, headDim: Int, causal: Bool, window: Int? = nil, cacheSlot: Int? = nil,
                segments: [Int]? = nil, backendChain: [String] = ["eager"]) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.causal = causal
        self.window = window
        self.cacheSlot = cacheSlot
        self.segments = segments
        self.backendChain = backendChain
    }
}

/// The operations a graph can hold. Activations are f32; weights may be f32, f16, bf16, Q8_0 or Q4_0.
/// Shapes: T = rows (tokens), D = features.
public indirect enum Op: Sendable, Hashable {
    /// A run-time input bound by name (f32 or i64).
    case input(name: String)
    /// A checkpoint tensor, bound through a `WeightProvider` by key.
    case weight(key: String)
    /// Rows of `table` [V, D] at `ids` [T] (i64) → [T, D].
    case embedding(table: ValueID, ids: ValueID)
    /// y[T, out] = x[T, in] · W[out, in]ᵀ (+ bias[out]).
    case linear(x: ValueID, weight: ValueID, bias: ValueID?)
    /// RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w.
    case rmsNorm(x: ValueID, weight: ValueID, eps: Float)
    /// LayerNorm over the last axis (biased variance); weight/bias optional.
    case layerNorm(x: ValueID, weight: ValueID?, bias: ValueID?, eps: Float)
    /// a + b (same shape, or b broadcast over rows when b is [D]).
    case add(ValueID, ValueID)
    /// a ⊙ b (same shape, or b broadcast over rows when b is [D]).
    case mul(ValueID, ValueID)
    /// x · sigmoid(x).
    case silu(ValueID)
    /// silu(gate) ⊙ up (fused SwiGLU).
    case swiglu(gate: ValueID, up: ValueID)
    /// GELU, exact (erf) or tanh approximation.
    case gelu(ValueID, tanh: Bool)
    /// Rotary embedding applied to x [T, heads·headDim] with positions (i64).
    case rope(x: ValueID, positions: ValueID, heads: Int, headDim: Int, theta: Float, kind: RopeKind)
    /// Attention of q [T, H·hd] over k, v [T, KV·hd] → [T, H·hd], with an optional additive mask [T, T] f32 (a
    /// run-time input; -inf hides a key) on top of the structural mask in `spec`.
    case attention(q: ValueID, k: ValueID, v: ValueID, mask: ValueID?, spec: AttentionSpec)
    /// Appends this step's K and V rows [T, KV·hd] to KV-cache `slot` at its length and commits them (the slot's
    /// length grows by T). Its result is an empty [0] token that the slot's readers take as input, so the write is
    /// ordered before them on every backend.
    case cacheWrite(k: ValueID, v: ValueID, slot: Int)
    /// Attention of q [T, H·hd] over every row of KV-cache slot `spec.cacheSlot` once `written` (that slot's
    /// `cacheWrite` of this step) ran; causal with the rows before this step as key offset.
    case cachedAttention(q: ValueID, written: ValueID, spec: AttentionSpec)
    /// Rows `range` of x [T, D] → [range.count, D].
    case rows(ValueID, range: Range<Int>)
    /// Mean of every `window` consecutive rows of x [T, D] → [T / window, D]; a trailing remainder is dropped
    /// (avg_pool1d over rows with stride = window, as the audio tower pools).
    case poolRows(ValueID, window: Int)
    /// Rows of x [T, D] in the order `indices` gives: out[i] = x[indices[i]] → [indices.count, D].
    case gatherRows(ValueID, indices: [Int])
    /// The same elements, row-major, under another shape of equal element count. A reshaped weight is a view of
    /// the stored tensor (conv kernels used as matrices); a reshaped activation is a copy.
    case reshape(ValueID, shape: Shape)
    /// Softmax over the last axis (f32, max-subtracted).
    case softmax(ValueID)
    /// Concatenation along `axis` (all other dimensions equal).
    case concat([ValueID], axis: Int)
    /// `range` of dimension `axis` (a split is several slices).
    case slice(ValueID, axis: Int, range: Range<Int>)
    /// Dimension reorder, materialized contiguously.
    case permute(ValueID, axes: [Int])
    /// Transposed 1-D convolution of x [Cin, L] with weight [Cin, Cout, K] (+ bias [Cout]) →
    /// [Cout, (L − 1)·stride − 2·padding + K] (PyTorch `ConvTranspose1d`, groups 1): GEMM then col2im.
    case convTranspose1d(x: ValueID, weight: ValueID, bias: ValueID?, stride: Int, padding: Int)
    /// A model-specific fused op over `inputs` that carries its kernels per device kind (see `FusedOp`).
    case fused(AnyFusedOp, inputs: [ValueID])
    /// x · factor.
    case scale(ValueID, factor: Float)
    /// An elementwise function of x → same shape.
    case unary(ValueID, UnaryKind)
    /// Reflect padding of the last axis of x [C, L] → [C, left + L + right] (torch `padding_mode="reflect"`: the
    /// edge sample is not repeated; left, right < L).
    case reflectPad(ValueID, left: Int, right: Int)
    /// 1-D convolution of x [Cin, L] with weight [Cout, Cin/groups, K] (+ bias [Cout]) → [Cout, Lout],
    /// computed as im2col + GEMM per group.
    case conv1d(x: ValueID, weight: ValueID, bias: ValueID?, stride: Int, padding: Int, dilation: Int, groups: Int)
}
