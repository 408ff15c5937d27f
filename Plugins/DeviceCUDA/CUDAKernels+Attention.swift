import OmniCore

/// One attention call on the GPU: device tensors (rows with contiguous columns; strides in elements), the mask, the
/// scratch the executor allocated (`scratchBytes`), and each query's visible key range (int32 pairs on the device).
/// q and out are f32; k and v are f32, or bf16 (a bf16 KV cache) for a kernel whose `readsBF16KV` said yes.
struct CUDAAttentionCall {
    let shape: AttentionShape
    let mask: AttentionMask
    let q: Tensor, k: Tensor, v: Tensor, out: Tensor
    let qStride: Int, kStride: Int, vStride: Int, outStride: Int
    /// The additive mask [qLen, kvLen] on the device, when the call has one.
    let explicit: Tensor?
    /// (lo, hi) per query: the keys it may see under causal, window and segment masking.
    let ranges: Tensor
    let scratch: Tensor
    let module: CUDAModule
    /// The executor's compute mode: f32 (parity) or bf16 (tensor cores allowed).
    var precision: ComputePrecision = .f32
    /// In step mode (a decode graph): the key count is read on the device; `shape.keyLength` is then the span the
    /// launch covers (≥ the keys), and `ranges` already follow the device count.
    var dynamic: CUDADynamicKeys? = nil
    /// Zeroed int32 counters the split-K decode kernel counts finished blocks in (its last block combines), nil for a
    /// separate combine launch.
    var decodeCounters: Storage? = nil
}

/// An attention implementation on the GPU, under the name users select it by (`eager`, later `flash_attention_2`).
struct CUDAAttentionKernel {
    let name: String
    /// Why it cannot take the call, or nil.
    let unsupportedReason: @Sendable (AttentionShape, AttentionMask) -> String?
    /// Device scratch bytes one call needs (the executor allocates and accounts them); the flag says K and V arrive
    /// as bf16 that the kernel reads as they are.
    let scratchBytes: @Sendable (AttentionShape, _ bf16KV: Bool) -> Int
    /// Whether it reads bf16 K and V (a bf16 KV cache) as they are for this call; the executor widens them to f32
    /// into scratch for a kernel that does not.
    var readsBF16KV: @Sendable (AttentionShape, AttentionMask, ComputePrecision) -> Bool = { _, _, _ in false }
    let run: @Sendable (CUDAAttentionCall) throws -> Void
}

/// The GPU's attention implementations, by name. `eager` is the oracle: scores materialized in device scratch.
enum CUDAAttentionKernels {
    static let all: [CUDAAttentionKernel] = [flash2, eager]

    /// The kernel a call gets: the first of `chain` (then eager, the oracle) the GPU has that takes the shape and
    /// mask, with a log line per name passed over and why (nil kernel: none takes it). The executor runs it; the
    /// planner (`CUDARunMemory`) sizes it.
    static func choose(_ chain: [String], _ shape: AttentionShape, _ mask: AttentionMask) -> (CUDAAttentionKernel?, [String]) {
        var names = chain
        if !names.contains("eager") { names.append("eager") }
        var log: [String] = []
        for (i, n) in names.enumerated() {
            let next = names.dropFirst(i + 1).first ?? "none"
            guard let kernel = all.first(where: { $0.name == n }) else { log.append("\(n) → \(next): no CUDA kernel"); continue }
            if let why = kernel.unsupportedReason(shape, mask) { log.append("\(n) → \(next): \(why)"); continue }
            return (kernel, log)
        }
        return (nil, log)
    }

    static let eager = CUDAAttentionKernel(
        name: "eager",
        unsupportedReason: { _, _ in nil },
        scratchBytes: { s, _ in s.heads * s.queryLength * s.keyLength * 4 },
        run: { c in
            let s = c.shape
            let n = s.heads * s.queryLength * s.keyLength
            guard n > 0 else { return }
            try c.module.launch("omni_attn_scores_f32", grid: CUDAModule.blocks(n), block: 256, [
                .ptr(c.q.address), .ptr(c.k.address), .ptr(c.explicit?.address ?? 0), .ptr(c.ranges.address), .ptr(c.scratch.address),
                .int(s.queryLength), .int(s.keyLength), .int(s.heads), .int(s.kvHeads), .int(s.headDim),
                .long(c.qStride), .long(c.kStride), .f32(s.scale)])
            try c.module.launch("omni_attn_softmax_f32", grid: s.heads * s.queryLength, block: 256,
                                [.ptr(c.scratch.address), .ptr(c.ranges.address), .int(s.queryLength), .int(s.keyLength)])
            try c.module.launch("omni_attn_pv_f32", grid: CUDAModule.blocks(s.heads * s.queryLength * s.headDim), block: 256, [
                .ptr(c.scratch.address), .ptr(c.v.address), .ptr(c.ranges.address), .ptr(c.out.address),
                .int(s.queryLength), .int(s.keyLength), .int(s.heads), .int(s.kvHeads), .int(s.headDim),
                .long(c.vStride), .long(c.outStride)])
        })
}

extension CUDAKernels {
    /// attention, cacheWrite, cachedAttention.
    static func registerAttention(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats
        t.register(.attention, dtypes: f) { c in
            guard case let .attention(_, _, _, m, spec) = c.node.op else { throw c.mismatch() }
            let q = c.inputs[0], k = c.inputs[1]
            let mask = AttentionMask(causal: spec.causal, segments: spec.segments, window: spec.window,
                                     explicit: m == nil ? nil : c.inputs[3])
            if let e = mask.explicit, e.elementCount != q.shape[0] * k.shape[0] {
                throw OmniError.invalidArgument(name: "\(c.node.name) mask", expected: "[\(q.shape[0]), \(k.shape[0])]", actual: "\(e.shape)")
            }
            c.log = try c.executor.attention(q: q, k: k, v: c.inputs[2], kStride: k.shape[1], vStride: c.inputs[2].shape[1],
                                             mask: mask, spec: spec, out: c.out, name: c.node.name)
        }
        t.register(.cacheWrite, dtypes: f) { c in
            guard case let .cacheWrite(_, _, slot) = c.node.op else { throw c.mismatch() }
            let cache = try c.executor.requireCache(c.cache, c.node.name)
            let k = c.inputs[0], v = c.inputs[1], rows = k.shape[0], start = cache.length(of: slot)
            try cache.checkAppend(slot: slot, rows: rows, width: k.shape[1])
            let n = rows * cache.rowWidth, bf16 = cache.dtype == .bf16
            if let step = c.executor.step {
                // Step mode: the row to write at is read on the device (one graph serves every token).
                try c.module.launch(bf16 ? "omni_cache_write_dyn_bf16" : "omni_cache_write_dyn", grid: CUDAModule.blocks(n), block: 256, [
                    .ptr(k.address), .ptr(v.address), .ptr(cache.keys(slot).address), .ptr(cache.values(slot).address),
                    .int(rows), .int(cache.rowWidth), .ptr(step.lensAddress), .int(slot), .int(start - step.startLength(slot))])
                step.noteCommit(slot: slot, rows: rows, width: k.shape[1])
            } else if bf16 {
                // A bf16 cache: the rows rounded as they are stored (what transformers' bf16 cache holds).
                let offset = UInt64(start * cache.rowWidth * 2)
                try c.module.launch("omni_cache_write_bf16", grid: CUDAModule.blocks(n), block: 256, [
                    .ptr(k.address), .ptr(v.address), .ptr(cache.keys(slot).address + offset),
                    .ptr(cache.values(slot).address + offset), .long(n)])
            } else {
                let rowBytes = cache.rowWidth * 4
                try c.executor.context.copy(from: k.address, to: cache.keys(slot).address + UInt64(start * rowBytes), bytes: rows * rowBytes)
                try c.executor.context.copy(from: v.address, to: cache.values(slot).address + UInt64(start * rowBytes), bytes: rows * rowBytes)
            }
            cache.commit(slot: slot, count: rows)
        }
        t.register(.cachedAttention, dtypes: f) { c in
            guard case let .cachedAttention(_, _, spec) = c.node.op, let slot = spec.cacheSlot else { throw c.mismatch() }
            let cache = try c.executor.requireCache(c.cache, c.node.name)
            var keys = cache.length(of: slot)
            let rows = c.inputs[0].shape[0]
            var dynamic: CUDADynamicKeys?
            if let step = c.executor.step {
                // Step mode: launch over a fixed span; the kernels read the real count (lens[slot] + delta).
                dynamic = CUDADynamicKeys(lens: step.lensAddress, slot: slot, delta: keys - step.startLength(slot), node: c.index)
                let capacity = cache.keys(slot).shape[0], delta = keys - step.startLength(slot)
                keys = CUDAStepState.keySpan(keys: keys, capacity: capacity)
                step.noteSpan(.init(slot: slot, delta: delta, capacity: capacity, span: keys))
            }
            let mask = AttentionMask(causal: spec.causal, keyOffset: keys - rows, window: spec.window)
            let kt = Tensor(storage: cache.keys(slot).storage, byteOffset: cache.keys(slot).byteOffset, shape: [keys, cache.rowWidth], dtype: cache.dtype)
            let vt = Tensor(storage: cache.values(slot).storage, byteOffset: cache.values(slot).byteOffset, shape: [keys, cache.rowWidth], dtype: cache.dtype)
            c.log = try c.executor.attention(q: c.inputs[0], k: kt, v: vt, kStride: cache.rowWidth, vStride: cache.rowWidth,
                                             mask: mask, spec: spec, out: c.out, name: c.node.name, dynamic: dynamic)
        }
    }
}
