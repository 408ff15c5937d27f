/// The executor memory one run of a graph takes besides its bound inputs, the weights and the KV cache, computed
/// from the graph alone (nothing runs): the arena its `ExecutionPlan` lays out, the scratch of the attention
/// backend the registry picks for each attention node, and the per-thread f32 panels the CPU's linear kernel
/// widens non-f32 weights into. The CPU executor keeps each of these buffers and only grows it, so the memory of
/// several runs is their `union`: the largest need of each kind, not the largest run.
public struct RunMemory: Sendable, Hashable {
    /// `ExecutionPlan.arenaBytes` (accounted as `activations`).
    public var arena: Int
    /// The largest attention scratch of one call (accounted as `scratch`).
    public var attentionScratch: Int
    /// Bytes of the linear kernel's f32 weight panels, per thread slot (accounted as `scratch`).
    public var panels: [Int]
    /// A compute device's other buffers for the run (a GPU's uploaded inputs, its GEMMs' bf16 staging, its BLAS
    /// workspace: `ComputeDevicePlugin.runMemory`); 0 on the CPU.
    public var staging: Int

    /// Creates a figure from its parts.
    public init(arena: Int = 0, attentionScratch: Int = 0, panels: [Int] = [], staging: Int = 0) {
        self.arena = arena
        self.attentionScratch = attentionScratch
        self.panels = panels
        self.staging = staging
    }

    /// Everything: arena + attention scratch + panels + staging.
    public var total: Int { (Checked(arena) + attentionScratch + Checked.sum(panels) + staging).saturated }

    /// Activations and scratch of running `graph` on the CPU executor with `threads` workers.
    ///
    /// - Parameters:
    ///   - keep: names kept alive to the end (as the run's `keep`).
    ///   - cachedRows: KV-cache rows before this run (the key offset of every `cachedAttention`).
    ///   - registry: picks each attention node's backend along its chain, as the executor does.
    ///   - weightDType: the dtype a weight key is computed in (its stored dtype under the load's dtype policy).
    ///   - bf16GEMM: whether linears with bf16 weights run the bf16-compute GEMM (an executor in bf16 precision on a CPU
    ///     with AMX-BF16: `omni_gemm_bf16w_available()`), which packs panels instead of widening the weights.
    public init(graph: Graph, keep: Set<String> = [], cachedRows: Int = 0, registry: PluginRegistry, threads: Int,
                weightDType: (String) -> DType, bf16GEMM: Bool = false) {
        let threads = max(1, threads)
        var attention = 0, slots: [Int] = []
        func weightKey(_ v: ValueID) -> String? {
            switch graph[v].op {
            case let .weight(key): return key
            case let .reshape(x, _): return weightKey(x)
            default: return nil
            }
        }
        func need(_ slot: Int, _ floats: Int) {
            while slots.count <= slot { slots.append(0) }
            slots[slot] = max(slots[slot], floats * 4)
        }
        func scratch(_ shape: AttentionShape, _ mask: AttentionMask, _ chain: [String]) {
            guard let (backend, _) = try? registry.selectAttention(chain: chain, shape: shape, mask: mask) else { return }
            attention = max(attention, max(backend.scratchBytes(for: shape, threads: threads), 64))
        }
        for node in graph.nodes {
            switch node.op {
            case let .attention(q, k, _, m, spec):
                let shape = AttentionShape(queryLength: graph[q].shape[0], keyLength: graph[k].shape[0], heads: spec.heads,
                                           kvHeads: spec.kvHeads, headDim: spec.headDim)
                let mask = AttentionMask(causal: spec.causal, segments: spec.segments, window: spec.window,
                                         explicit: m == nil ? nil : Tensor(zeros: [1]))
                scratch(shape, mask, spec.backendChain)
            case let .cachedAttention(q, _, spec):
                let rows = graph[q].shape[0]
                let shape = AttentionShape(queryLength: rows, keyLength: cachedRows + rows, heads: spec.heads,
                                           kvHeads: spec.kvHeads, headDim: spec.headDim)
                scratch(shape, AttentionMask(causal: spec.causal, keyOffset: cachedRows, window: spec.window),
                        spec.backendChain)
            case let .linear(x, w, _):
                // Mirrors Kernels.linear: 2 … 16 rows of f32/bf16/q8_0 take the small-batch path (x prepared for all
                // rows in slot 0); ≤ 2 rows otherwise prepare one row of x in slot 0 (bf16, q8_0, q4_0, q5_0, q4_k, q6_k); more rows
                // go to Kernels.gemm, which widens a non-f32 weight a column block at a time into one slot per
                // thread (blocks split as `split(outF, parts:, multiple: 16)` does).
                guard let key = weightKey(w) else { continue }
                let dtype = weightDType(key)
                let t = graph[x].shape[0], inF = graph[x].shape[graph[x].shape.rank - 1], outF = graph[w].shape[0]
                let smallBatch = t >= 2 && t <= 16 && [.f32, .bf16, .q8_0].contains(dtype) && (dtype != .q8_0 || inF % 32 == 0)
                if smallBatch {
                    if dtype == .bf16 { need(0, t * inF) }
                    if dtype == .q8_0 { need(0, (t * (inF / 32 * 34) + 3) / 4) }
                } else if t <= 2 {
                    if dtype == .bf16 { need(0, inF) }
                    if dtype == .q8_0 { need(0, (inF / 32 * 34 + 3) / 4) }
                    if dtype == .q4_0 || dtype == .q5_0 {
                        // omni_q4_0_prepared_bytes, omni_q5_0_prepared_bytes (the same layout)
                        let nb = inF / 32, bytes = (nb * 34 + 31) / 32 * 32 + nb * (32 + 4)
                        need(0, (bytes + 3) / 4)
                    }
                    if dtype == .q4_k || dtype == .q6_k { need(0, (inF / 256 * 292 + 3) / 4) }   // omni_q8_k_bytes
                } else if dtype == .bf16, bf16GEMM {
                    // Kernels.gemm's bf16-compute path: one slot of packed panels per thread, as many as blocks.
                    let slots = Self.bf16GemmSlots(outF: outF, threads: threads)
                    let words = Self.bf16GemmScratchWords(rows: t, inF: inF, outF: outF, threads: threads)
                    for slot in 0..<slots { need(slot, words) }
                } else if dtype != .f32 {
                    let panelFloats = 1 << 22                                             // Kernels.gemmPanelFloats
                    let parts = max(Self.gemmParts(outF: outF, threads: threads), (outF * inF + panelFloats - 1) / panelFloats)
                    let (blocks, chunk) = Self.gemmColumnBlocks(outF: outF, parts: parts)
                    for slot in 0..<min(threads, blocks) { need(slot, min(chunk, outF) * inF) }
                }
            default:
                continue
            }
        }
        self.init(arena: ExecutionPlan(graph: graph, keep: keep).arenaBytes, attentionScratch: attention, panels: slots)
    }

    /// 4-byte words of one thread slot of the CPU's bf16-compute GEMM (`Kernels.gemm` with bf16 compute): the widest
    /// of its column blocks as `omni_gemm_bf16w_scratch_words` (CKernels/gemm_bf16.c) counts it — the packed weight
    /// panels (32 columns × up to 384 pairs of k, padded to 16), up to 384 packed rows of x (padded to 32), a 32 × 32
    /// block of sums and the AMX tile configuration. Mirrors those constants (a test compares the two).
    public static func bf16GemmScratchWords(rows t: Int, inF: Int, outF: Int, threads: Int) -> Int {
        let (_, chunk) = bf16GemmBlocks(outF: outF, threads: threads)
        let cols = min(chunk, outF)
        let kp = (min((inF + 1) / 2, 384) + 15) / 16 * 16, mc = min(t, 384)
        return (cols + 31) / 32 * 32 * kp + (mc + 31) / 32 * 32 * kp + 32 * 32 + 32
    }

    /// Thread slots the bf16-compute GEMM takes for `outF` columns: one per column block, at most `threads`.
    public static func bf16GemmSlots(outF: Int, threads: Int) -> Int {
        let (blocks, _) = bf16GemmBlocks(outF: outF, threads: threads)
        return min(max(1, threads), blocks)
    }

    /// The column blocks of the bf16-compute GEMM: `Kernels.gemm`'s blocks before any widening split.
    private static func bf16GemmBlocks(outF: Int, threads: Int) -> (count: Int, chunk: Int) {
        gemmColumnBlocks(outF: outF, parts: gemmParts(outF: outF, threads: threads))
    }

    /// `Kernels.gemm`'s column blocks per thread: two when each stays `Kernels.gemmMinColumns` (512) wide, else one.
    private static func gemmParts(outF: Int, threads: Int) -> Int {
        let threads = max(1, threads)
        return threads * (outF / (2 * threads) >= 512 ? 2 : 1)
    }

    /// Count and width of `split(outF, parts:, multiple: 16)`'s ranges (OmniExec's Parallel.swift).
    private static func gemmColumnBlocks(outF: Int, parts: Int) -> (count: Int, chunk: Int) {
        let p = max(1, min(parts, (outF + 15) / 16))
        let chunk = max(((outF + p - 1) / p + 15) / 16 * 16, 1)
        return ((outF + chunk - 1) / chunk, chunk)
    }

    /// What the executor holds after all of `runs`: the largest arena, the largest attention scratch, the largest
    /// staging and, per thread slot, the largest panel.
    public static func union(_ runs: [RunMemory]) -> RunMemory {
        var out = RunMemory()
        for r in runs {
            out.arena = max(out.arena, r.arena)
            out.attentionScratch = max(out.attentionScratch, r.attentionScratch)
            out.staging = max(out.staging, r.staging)
            for (i, p) in r.panels.enumerated() {
                if i >= out.panels.count { out.panels.append(p) } else { out.panels[i] = max(out.panels[i], p) }
            }
        }
        return out
    }
}
