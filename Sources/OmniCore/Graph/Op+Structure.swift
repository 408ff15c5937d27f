/// Structure queries every executor and planner shares. A new op adds its case here too: the switches are
/// exhaustive, so the compiler points at every place an op must be described.
extension Op {
    /// The key of this op in a backend's kernel table.
    public var kind: OpKind {
        switch self {
        case .input: return .input
        case .weight: return .weight
        case .embedding: return .embedding
        case .linear: return .linear
        case .rmsNorm: return .rmsNorm
        case .layerNorm: return .layerNorm
        case .add: return .add
        case .mul: return .mul
        case .silu: return .silu
        case .swiglu: return .swiglu
        case .gelu: return .gelu
        case .rope: return .rope
        case .attention: return .attention
        case .cacheWrite: return .cacheWrite
        case .cachedAttention: return .cachedAttention
        case .rows: return .rows
        case .poolRows: return .poolRows
        case .gatherRows: return .gatherRows
        case .reshape: return .reshape
        case .softmax: return .softmax
        case .concat: return .concat
        case .slice: return .slice
        case .permute: return .permute
        case .convTranspose1d: return .convTranspose1d
        case .fused: return .fused
        case .scale: return .scale
        case .unary: return .unary
        case .reflectPad: return .reflectPad
        case .conv1d: return .conv1d
        }
    }

    /// Whether this is a checkpoint weight.
    public var isWeight: Bool { if case .weight = self { return true } else { return false } }

    /// The values this op reads, in the order kernels receive them.
    public var inputs: [ValueID] {
        switch self {
        case .input, .weight: return []
        case let .embedding(t, ids): return [t, ids]
        case let .linear(x, w, b): return [x, w] + (b.map { [$0] } ?? [])
        case let .rmsNorm(x, w, _): return [x, w]
        case let .layerNorm(x, w, b, _): return [x] + [w, b].compactMap { $0 }
        case let .add(a, b), let .mul(a, b): return [a, b]
        case let .silu(x), let .gelu(x, _): return [x]
        case let .swiglu(g, u): return [g, u]
        case let .rope(x, p, _, _, _, _): return [x, p]
        case let .attention(q, k, v, m, _): return [q, k, v] + (m.map { [$0] } ?? [])
        case let .cacheWrite(k, v, _): return [k, v]
        case let .cachedAttention(q, w, _): return [q, w]
        case let .rows(x, _), let .poolRows(x, _), let .softmax(x), let .slice(x, _, _), let .permute(x, _),
             let .gatherRows(x, _), let .reshape(x, _): return [x]
        case let .concat(xs, _): return xs
        case let .conv1d(x, w, b, _, _, _, _): return [x, w] + (b.map { [$0] } ?? [])
        case let .convTranspose1d(x, w, b, _, _): return [x, w] + (b.map { [$0] } ?? [])
        case let .fused(_, xs): return xs
        case let .scale(x, _), let .unary(x, _), let .reflectPad(x, _, _): return [x]
        }
    }
}

/// The kinds of `Op`, one per case: the keys of every backend's kernel table.
public enum OpKind: String, Sendable, Hashable, CaseIterable {
    case input, weight, embedding, linear, rmsNorm, layerNorm, add, mul, silu, swiglu, gelu, rope, attention,
         cacheWrite, cachedAttention, rows, poolRows, gatherRows, reshape, softmax, concat, slice, permute,
         convTranspose1d, fused, scale, conv1d, unary, reflectPad
}
