import Foundation
import OmniCore

/// The CUDA side of the `flash_attention_2` backend (kernels/flash_attention.cu and kernels/decode_attention.cu;
/// eager stays the oracle):
/// - a few query rows over a longer key range without segments or an explicit mask (decode): split-K
///   flash-decoding, f32 arithmetic over f32 or bf16 K and V, one block per (KV head, key chunk) serving all of its
///   query heads;
/// - otherwise, in the bf16 compute mode with head dim 64, 80 or 128: flash-attention-2 on the tensor cores (f32 K and
///   V rounded to bf16 once into scratch, a bf16 cache's rows read as they are; f32 accumulation and softmax): on
///   sm_90 with head dim 128 and at least `wgmmaRows` query rows Hopper's warpgroup MMAs (kernels/flash_wgmma.cu),
///   elsewhere mma.sync (kernels/flash_attention.cu);
/// - otherwise (the f32 parity mode, other head dims): the same online softmax in f32 arithmetic.
/// The structural mask arrives as each query's visible key range (`ranges`), the explicit mask as is.
extension CUDAAttentionKernels {
    static let flash2 = CUDAAttentionKernel(
        name: "flash_attention_2",
        unsupportedReason: { s, _ in
            s.headDim % 4 == 0 && s.headDim <= 256 ? nil : "head dim \(s.headDim) (the CUDA kernels take multiples of 4 up to 256)"
        },
        scratchBytes: { s, bf16KV in CUDAFlash.scratchBytes(s, bf16KV: bf16KV) },
        readsBF16KV: { s, m, p in CUDAFlash.readsBF16KV(s, m, p) },
        run: { c in try CUDAFlash.run(c) })
}

/// Kernel choice and launch geometry for `flash_attention_2` on the GPU.
enum CUDAFlash {
    /// Head dims with tensor-core and split-K kernels.
    static let kernelDims: Set<Int> = [64, 80, 128]
    /// Most (query head, query row) pairs one split-K block holds (the kernel's register tile).
    static let maxDecodeRows = 32

    /// Whether the split-K decode kernel takes this call.
    static func usesDecode(_ s: AttentionShape, _ m: AttentionMask) -> Bool {
        kernelDims.contains(s.headDim) && m.segments == nil && m.explicit == nil && s.queryLength <= 4
            && (s.heads / s.kvHeads) * s.queryLength <= maxDecodeRows && s.keyLength > 0
    }

    /// Keys per split-K block: about two blocks per multiprocessor (264 on the H200's 132), 32 … 256 keys each
    /// (shared memory ≤ 48 KiB).
    static func decodeChunk(keys: Int, kvHeads: Int, multiprocessors: Int) -> Int {
        let splits = max(1, (2 * multiprocessors + kvHeads - 1) / kvHeads)
        let chunk = ((keys + splits - 1) / splits + 31) / 32 * 32
        return min(256, max(32, chunk))
    }

    /// Whether bf16 K and V go to a kernel as they are: the split-K decode kernel and the tensor-core kernel (bf16
    /// mode) take them; the f32 kernel gets them widened.
    static func readsBF16KV(_ s: AttentionShape, _ m: AttentionMask, _ p: ComputePrecision) -> Bool {
        kernelDims.contains(s.headDim) && (usesDecode(s, m) || p == .bf16)
    }

    /// Enough for either path: bf16 K and V (unless they arrive bf16), or the split-K partial results.
    static func scratchBytes(_ s: AttentionShape, bf16KV: Bool = false) -> Int {
        let kv = bf16KV ? 0 : 2 * ((s.keyLength * s.kvHeads * s.headDim * 2 + 255) / 256 * 256)
        guard s.queryLength <= 4 else { return kv }
        let splits = (s.keyLength + 31) / 32
        return max(kv, splits * s.heads * s.queryLength * (s.headDim + 2) * 4)
    }

    /// Query rows from which head dim 128 takes the wgmma kernel on sm_90 (OMNI_CUDA_WGMMA_ROWS, default 512: the
    /// harness timed it ahead of every mma.sync variant at 512, 2048 and 8192 rows; below 512 it was not measured).
    static let wgmmaRows = max(1, Int(ProcessInfo.processInfo.environment["OMNI_CUDA_WGMMA_ROWS"] ?? "") ?? 512)
    /// The wgmma kernel's dynamic shared memory: Q and two stages of K and V (32 KiB each), 1 KiB for alignment.
    static let wgmmaShared = 5 * 32768 + 1024

    static func run(_ c: CUDAAttentionCall) throws {
        let s = c.shape, d = s.headDim
        guard s.queryLength > 0, s.heads > 0 else { return }
        if usesDecode(s, c.mask) { return try decode(c) }
        let explicit = c.explicit?.address ?? 0
        let bf16KV = c.k.dtype == .bf16 && c.v.dtype == .bf16
        if c.precision == .bf16, kernelDims.contains(d), c.qStride % 4 == 0, c.kStride % 4 == 0, c.vStride % 4 == 0 {
            let width = s.kvHeads * d, n4 = s.keyLength * width / 4
            var kb = c.scratch.address, vb = kb + UInt64((s.keyLength * width * 2 + 255) / 256 * 256)
            var ldk = width, ldv = width
            if bf16KV {
                // A bf16 cache: its rows as they are (16-byte rows: strides multiples of 8, as the kernel requires).
                guard c.kStride % 8 == 0, c.vStride % 8 == 0 else {
                    throw OmniError.unsupported(what: "flash_attention_2 over bf16 K/V strides \(c.kStride)/\(c.vStride)",
                                                reasons: ["the tensor-core kernel reads 16-byte rows: strides a multiple of 8"])
                }
                kb = c.k.address; vb = c.v.address; ldk = c.kStride; ldv = c.vStride
            } else {
                try c.module.launch("omni_attn_convert_bf16", grid: CUDAModule.blocks(n4), block: 256,
                                    [.ptr(c.k.address), .int(s.keyLength), .int(width), .int(c.kStride), .ptr(kb)])
                try c.module.launch("omni_attn_convert_bf16", grid: CUDAModule.blocks(n4), block: 256,
                                    [.ptr(c.v.address), .int(s.keyLength), .int(width), .int(c.vStride), .ptr(vb)])
            }
            if d == 128, s.queryLength >= wgmmaRows, c.module.hasWgmma {
                // Hopper: warpgroup MMAs, 128 query rows a block of two warpgroups (kernels/flash_wgmma.cu).
                try c.module.launch("omni_flash_attn_fwd_d128_wgmma", grid: s.heads * ((s.queryLength + 127) / 128), block: 256,
                                    shared: wgmmaShared, [
                    .ptr(c.q.address), .int(c.qStride), .ptr(kb), .int(ldk), .ptr(vb), .int(ldv),
                    .ptr(c.out.address), .int(c.outStride), .int(s.queryLength), .int(s.keyLength), .int(s.heads),
                    .int(s.kvHeads), .f32(s.scale), .int(0), .int(0), .int(0), .ptr(0), .int(0), .ptr(explicit),
                    .ptr(c.ranges.address)])
                return
            }
            // 32 query rows a warp (FA2's split) from 1024 rows on, and for the towers' 80; 16 below (H200 runs).
            let wide = d == 80 || (d == 128 && s.queryLength >= 1024)
            let rows = wide ? 128 : 64
            let shared = wide ? (rows + 4 * 64) * (d + 8) * 2 : 4 * 64 * (d + 8) * 2
            let name = wide ? "omni_flash_attn_fwd_d\(d)_mt2" : "omni_flash_attn_fwd_d\(d)"
            try c.module.launch(name, grid: s.heads * ((s.queryLength + rows - 1) / rows), block: 128, shared: shared, [
                .ptr(c.q.address), .int(c.qStride), .ptr(kb), .int(ldk), .ptr(vb), .int(ldv),
                .ptr(c.out.address), .int(c.outStride), .int(s.queryLength), .int(s.keyLength), .int(s.heads),
                .int(s.kvHeads), .f32(s.scale), .int(0), .int(0), .int(0), .ptr(0), .int(0), .ptr(explicit),
                .ptr(c.ranges.address)])
        } else {
            guard !bf16KV else { throw OmniError.unsupported(what: "the f32 flash kernel over bf16 K/V", reasons: ["widened by the executor first"]) }
            try c.module.launch("omni_flash_attn_fwd_f32", grid: (s.queryLength * s.heads + 3) / 4, block: 128, [
                .ptr(c.q.address), .int(c.qStride), .ptr(c.k.address), .int(c.kStride), .ptr(c.v.address), .int(c.vStride),
                .ptr(c.out.address), .int(c.outStride), .int(s.queryLength), .int(s.keyLength), .int(s.heads),
                .int(s.kvHeads), .int(d), .f32(s.scale), .int(0), .int(0), .int(0), .ptr(0), .int(0), .ptr(explicit),
                .ptr(c.ranges.address)])
        }
    }

    /// Split-K over the key range; the last block of each KV head combines (one launch: kernels/decode_attention.cu,
    /// counters from the executor, zero between launches), or a separate combine launch where no counters are given
    /// (OMNI_CUDA_DECODE_COMBINE=0, or more KV heads than counters). In step mode the grid covers the key span and the
    /// kernel reads the real key count on the device (blocks past it contribute nothing).
    static func decode(_ c: CUDAAttentionCall) throws {
        let s = c.shape, d = s.headDim
        let chunk = decodeChunk(keys: s.keyLength, kvHeads: s.kvHeads, multiprocessors: c.module.context.multiprocessors)
        let splits = (s.keyLength + chunk - 1) / chunk
        let rows = (s.heads / s.kvHeads) * s.queryLength
        let kv = c.k.dtype == .bf16 ? "_bf16" : ""
        let counters = c.decodeCounters.flatMap { $0.byteCount >= 4 * s.kvHeads ? $0.deviceAddress : nil } ?? 0
        try c.module.launch("omni_attn_decode_split_d\(d)\(kv)", grid: s.kvHeads * splits, block: 128,
                            shared: 4 * rows * (d + chunk), [
            .ptr(c.q.address), .int(c.qStride), .ptr(c.k.address), .int(c.kStride), .ptr(c.v.address), .int(c.vStride),
            .ptr(c.scratch.address), .int(s.queryLength), .int(s.keyLength), .int(s.heads), .int(s.kvHeads),
            .int(c.mask.causal ? 1 : 0), .int(c.mask.keyOffset), .int(c.mask.window ?? 0), .f32(s.scale), .int(chunk),
            .ptr(c.dynamic?.lens ?? 0), .int(c.dynamic?.slot ?? 0), .int(c.dynamic?.delta ?? 0),
            .ptr(c.out.address), .int(c.outStride), .ptr(counters)])
        guard counters == 0 else { return }
        try c.module.launch("omni_attn_decode_combine", grid: s.heads * s.queryLength, block: 128, [
            .ptr(c.scratch.address), .ptr(c.out.address), .int(c.outStride), .int(s.queryLength), .int(s.heads), .int(d),
            .int(splits)])
    }
}
