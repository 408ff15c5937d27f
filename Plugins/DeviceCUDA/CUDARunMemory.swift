import OmniCore

extension CUDAPlugin {
    /// One run's device memory as `CUDAExecutor` allocates it (`CUDARunMemory`), so a GPU plan counts what the GPU
    /// holds rather than what the CPU executor would.
    public func runMemory(graph: Graph, keep: Set<String>, cachedRows: Int, precision: ComputePrecision,
                          weightDType: (String) -> DType) -> RunMemory? {
        CUDARunMemory.estimate(graph, keep: keep, cachedRows: cachedRows, precision: precision, weightDType: weightDType)
    }
}

/// What one run of a graph holds on the GPU besides weights and the KV cache, mirroring `CUDAExecutor`: the arena of
/// its own plan (in-place SwiGLU, fusion groups' held inputs); the attention scratch of the kernel each attention
/// node gets (flash: bf16 K/V copies unless they come from a bf16 cache, split-K partials; eager: the scores, and a
/// bf16 cache widened); and staging: the run's uploaded inputs, the GEMMs' bf16 activations (x rounded once per
/// linear with more than 8 rows; SwiGLU → down `swigluChunkRows` rows at a time) or a conv1d's unrolled columns (the
/// same buffer), a Q8_0 weight widened for a GEMM, and cuBLASLt's workspace. Grow-only buffers are sized by the run's largest use, as the executor grows them.
enum CUDARunMemory {
    static func estimate(_ g: Graph, keep: Set<String>, cachedRows: Int, precision: ComputePrecision,
                         weightDType: (String) -> DType) -> RunMemory {
        let plan = CUDAExecutor.makePlan(g, keep: keep)
        let narrow = precision == .bf16 ? CUDAExecutor.gemmWeights(g) : []
        let cacheDType = KVCache.elementType(precision: precision, device: DeviceID("cuda", index: 0))
        var attention = 0, inputs = Checked(0), gemmBF16 = 0, widen = 0, kvWiden = 0
        func attend(_ shape: AttentionShape, _ mask: AttentionMask, _ chain: [String], bf16KV: Bool) {
            guard let k = CUDAAttentionKernels.choose(chain, shape, mask).0 else { return }
            let reads = bf16KV && k.readsBF16KV(shape, mask, precision)
            attention = max(attention, k.scratchBytes(shape, reads))
            if bf16KV && !reads {
                kvWiden = max(kvWiden, (Checked(shape.keyLength) * shape.kvHeads * shape.headDim * 8).saturated)
            }
        }
        for node in g.nodes {
            switch node.op {
            case .input:
                inputs = inputs + (node.dtype.byteCount(elements: node.shape.elementCount) ?? 0)
            case let .attention(q, k, _, m, spec):
                let shape = AttentionShape(queryLength: g[q].shape[0], keyLength: g[k].shape[0], heads: spec.heads,
                                           kvHeads: spec.kvHeads, headDim: spec.headDim)
                attend(shape, AttentionMask(causal: spec.causal, segments: spec.segments, window: spec.window,
                                            explicit: m == nil ? nil : Tensor(zeros: [1])), spec.backendChain, bf16KV: false)
            case let .cachedAttention(q, _, spec):
                let rows = g[q].shape[0]
                let shape = AttentionShape(queryLength: rows, keyLength: cachedRows + rows, heads: spec.heads,
                                           kvHeads: spec.kvHeads, headDim: spec.headDim)
                attend(shape, AttentionMask(causal: spec.causal, keyOffset: cachedRows, window: spec.window),
                       spec.backendChain, bf16KV: cacheDType == .bf16)
            case let .linear(x, w, _):
                let inF = g[w].shape[g[w].shape.rank - 1], outF = g[w].shape[0]
                let rows = g[x].shape.elementCount / max(inF, 1)
                guard rows > 8, precision == .bf16, narrow.contains(w.index), case let .weight(key) = g[w].op else { continue }
                var staged = rows
                if case .swiglu = g[x].op { staged = min(rows, CUDAKernels.swigluChunkRows) }
                gemmBF16 = max(gemmBF16, (Checked(staged) * inF * 2).saturated)
                if weightDType(key) == .q8_0 { widen = max(widen, (Checked(outF) * inF * 2).saturated) }
            case let .conv1d(x, w, _, _, _, _, groups):
                // The GEMM form's columns share the grow-only GEMM scratch (CUDAKernels.conv1dGemm).
                let cin = g[x].shape[0], k = g[w].shape[2], cout = g[w].shape[0], lOut = node.shape[1]
                guard CUDAKernels.usesConvGemm(groups: groups, cout: cout, lOut: lOut) else { continue }
                gemmBF16 = max(gemmBF16, (Checked(CUDAKernels.convChunk(cin: cin, k: k, lOut: lOut)) * cin * k * 4).saturated)
            default:
                continue
            }
        }
        let workspace = 32 << 20   // CUDABlas's
        let staging = inputs + gemmBF16 + widen + kvWiden + workspace
        return RunMemory(arena: plan.arenaBytes, attentionScratch: attention, staging: staging.saturated)
    }
}
