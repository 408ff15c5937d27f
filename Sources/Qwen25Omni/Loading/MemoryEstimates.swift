import OmniCore

/// KV-cache and activation estimates for one input size. The thinker side (towers, prefill, decode) is sized from
/// the graphs generation builds for the input and chunk sizes (`ActivationPlanner`); the talker and token2wav from
/// formulas over one layer's working set. Neither counts allocator slack, convolution im2col buffers or the
/// tokenizer.
public struct MemoryEstimates: Sendable, Hashable {
    /// The input they are for.
    public var input: InputSize
    /// Thinker KV cache for prompt + new tokens (f32, or bf16 on a GPU in the bf16 mode), for all `input.sessions` sessions.
    public var thinkerKVCache: Int
    /// Talker KV cache (0 without audio output).
    public var talkerKVCache: Int
    /// Peak activation bytes per phase (`audio tower`, `vision tower`, `thinker prefill`…).
    public var phases: [(name: String, bytes: Int)]
    /// How each figure is computed, for printing.
    public var formulas: [String]

    /// The thinker side's phases from its graphs, with the chunk sizes they were planned for.
    public var thinker: ActivationPlanner.Result
    /// Host rows of a media prompt's embeddings [T, hidden] f32 (0 for a text prompt, embedded inside the graph).
    public var promptRows: Int { thinker.promptRows }

    /// Both KV caches.
    public var kvCache: Int { (Checked(thinkerKVCache) + talkerKVCache).saturated }
    /// Activations and scratch at peak: the thinker side's union (buffers kept at their largest), or the talker's
    /// and token2wav's largest phase when that is larger.
    public var activations: Int { max(thinker.total, phases.dropFirst(thinker.phases.count).map(\.bytes).max() ?? 0) }
    /// Everything that grows with the input besides weights: KV caches, activations and the prompt rows.
    public var runtime: Int { (Checked(kvCache) + activations + promptRows).saturated }

    public static func == (a: MemoryEstimates, b: MemoryEstimates) -> Bool {
        a.input == b.input && a.kvCache == b.kvCache && a.thinker.chunks == b.thinker.chunks && a.phases.map(\.name) == b.phases.map(\.name)
            && a.phases.map(\.bytes) == b.phases.map(\.bytes)
    }

    public func hash(into h: inout Hasher) { h.combine(input); h.combine(kvCache); h.combine(activations) }

    /// Estimates for `config` and `input`; `attentionScratch` gives a backend's scratch bytes for a shape
    /// (nil: the eager bound H × Tq × Tk × 4); `cacheDType` is the KV caches' element type (`KVCache.elementType`).
    /// Every product is computed with `Checked`: a figure that overflows `Int` (a hostile config or input) throws
    /// `OmniError.invalidArgument` naming the phase.
    public init(config: OmniConfig, input: InputSize, audioOutput: Bool, thinker: ActivationPlanner.Result,
                attentionScratch: ((AttentionShape) -> Int)? = nil, cacheDType: DType = .f32) throws {
        try input.validate()
        self.input = input
        self.thinker = thinker
        let f = 4  // f32 bytes
        let kvf = cacheDType.blockBytes
        let t = config.thinker.text
        let T = input.promptTokens
        let total = Checked(T) + input.maxNewTokens
        func attn(_ q: Checked, _ k: Checked, _ h: Int, _ kv: Int, _ hd: Int) -> Checked {
            guard let q = q.value, let k = k.value else { return .overflow }
            if let scratch = attentionScratch {
                // The backend's own figure; its arithmetic is not ours to check, so only plausible shapes reach it.
                guard (Checked(h) * q * k * f).value != nil else { return .overflow }
                return Checked(scratch(AttentionShape(queryLength: q, keyLength: k, heads: h, kvHeads: kv, headDim: hd)))
            }
            return Checked(h) * q * k * f
        }
        func get(_ c: Checked, _ what: String) throws -> Int {
            try c.get(or: .invalidArgument(name: what, expected: "an estimate that fits in Int (smaller input or config values)",
                                           actual: "overflow for prompt \(T) + new \(input.maxNewTokens) tokens"))
        }
        var formulas = [
            "KV cache = layers × 2 × kv_heads × head_dim × tokens × \(kvf) B (\(cacheDType) cache); thinker tokens = prompt "
                + "\(T) + new \(input.maxNewTokens)",
        ]
        let sessions = input.sessions
        thinkerKVCache = try get(Checked(t.layers) * 2 * t.kvHeads * t.headDim * total * kvf * sessions, "thinker KV cache")
        var phases: [(String, Int)] = []
        if sessions > 1 {
            formulas[0] += " × \(sessions) sessions (batched decode)"
            // One batched step: every row's layer working set, one attention call at a time, logits for every row.
            let b = Checked(sessions)
            let step = b * (Checked(5) * t.hiddenSize + Checked(3) * t.intermediateSize + Checked(4) * t.heads * t.headDim
                + Checked(2) * t.kvHeads * t.headDim) * f + attn(Checked(1), total, t.heads, t.kvHeads, t.headDim)
                + b * t.vocabSize * f
            phases.append(("thinker batched decode", try get(step, "thinker batched decode estimate")))
            formulas.append("thinker batched decode = B × (5·hidden + 3·intermediate + 4·heads·head_dim + 2·kv_heads·"
                + "head_dim) × 4 + one row's attention over prompt + new + B × vocab × 4 (logits); B = \(sessions)")
        }

        // The thinker side (towers, embedding lookup, prefill, decode) from the graphs those runs build.
        for p in thinker.phases { phases.append((p.name, p.memory.total)) }
        formulas.append("thinker side = the graphs generation builds for this input (" + thinker.chunks.description
            + "): each phase's arena (ExecutionPlan.arenaBytes) + its attention backend's scratch + the linear kernel's "
            + "f32 weight panels; the executor keeps each buffer at its largest size, so the peak is the largest "
            + "arena + the largest scratch + the largest panels")
        if thinker.promptRows > 0 {
            formulas.append("prompt embeddings = T × hidden × 4 (host rows a media prompt is prefilled from); T = \(T)")
        }

        talkerKVCache = 0
        if audioOutput, let tk = config.talker, let tw = config.token2wav {
            let codes = Checked(input.talkerCodes), rows = Checked(T) + 2
            let tt = Checked(T) + 2 + codes
            talkerKVCache = try get(Checked(tk.layers) * 2 * tk.kvHeads * tk.headDim * tt * kvf, "talker KV cache")
            // The thinker's rows the talker is fed (prompt and reply: embedding and hidden state), its prefill
            // inputs, one layer's working set over the prefill rows, attention, and the codec logits.
            let record = total * 2 * t.hiddenSize * f
            phases.append(("talker prefill", try get(record + rows * 2 * tk.embeddingSize * f
                + rows * (Checked(4) * tk.hiddenSize + Checked(3) * tk.intermediateSize + Checked(2) * tk.heads * tk.headDim
                    + Checked(2) * tk.kvHeads * tk.headDim) * f
                + attn(rows, rows, tk.heads, tk.kvHeads, tk.headDim) + Checked(tk.vocabSize) * f, "talker prefill estimate")))
            formulas.append("talker KV cache = talker layers × 2 × kv_heads × head_dim × (prompt \(T) + 2 + codes "
                + "\(input.talkerCodes)) × 4 B; codes = --talker-max-new-tokens, else ≈ 16 per new token up to 4096")
            formulas.append("talker prefill = thinker rows (prompt + new) × 2 × hidden × 4 + (prompt + 2) × (2·embedding "
                + "+ 4·hidden + 3·intermediate + 2·heads·head_dim + 2·kv_heads·head_dim) × 4 + attention + vocab × 4")
            let d = tw.dit
            let mel = codes * d.repeats
            phases.append(("token2wav DiT", try get(mel * (Checked(10) * d.hiddenSize + Checked(2) * d.ffMult * d.hiddenSize
                + Checked(d.melDim) * 3) * f + attn(mel, Checked(3) * d.blockSize, d.heads, d.heads, d.headDim),
                "token2wav DiT estimate")))
            let g = tw.bigvgan
            var frames = mel, peak = Checked(0)
            for (i, r) in g.upsampleRates.enumerated() {
                frames = frames * r
                peak = Checked.max(peak, frames * (i + 1 < Int.bitWidth ? g.upsampleInitialChannel >> (i + 1) : 0) * f * 6)
            }
            phases.append(("token2wav BigVGAN", try get(peak, "token2wav BigVGAN estimate")))
            formulas.append("token2wav: DiT over 2 mel frames per code, attention banded to 3 blocks of block_size; BigVGAN = max over stages of frames × channels × 4 × 6")
        }
        self.phases = phases
        self.formulas = formulas
    }
}
