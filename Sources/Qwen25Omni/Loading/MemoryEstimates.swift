import OmniCore

/// KV-cache and activation estimates for one input size. These are estimates, not measurements: they
/// count the f32 buffers of the largest phase (one layer's working set plus what persists between phases)
/// and ignore allocator slack, thread scratch beyond the attention backend's own figure, and the tokenizer.
public struct MemoryEstimates: Sendable, Hashable {
    /// The input they are for.
    public var input: InputSize
    /// Thinker KV cache for prompt + new tokens (f32).
    public var thinkerKVCache: Int
    /// Talker KV cache (0 without audio output).
    public var talkerKVCache: Int
    /// Peak activation bytes per phase (`audio tower`, `vision tower`, `thinker prefill`…).
    public var phases: [(name: String, bytes: Int)]
    /// How each figure is computed, for printing.
    public var formulas: [String]

    /// Both KV caches.
    public var kvCache: Int { thinkerKVCache + talkerKVCache }
    /// The largest phase.
    public var activations: Int { phases.map(\.bytes).max() ?? 0 }

    public static func == (a: MemoryEstimates, b: MemoryEstimates) -> Bool {
        a.input == b.input && a.kvCache == b.kvCache && a.phases.map(\.name) == b.phases.map(\.name)
            && a.phases.map(\.bytes) == b.phases.map(\.bytes)
    }

    public func hash(into h: inout Hasher) { h.combine(input); h.combine(kvCache); h.combine(activations) }

    /// Estimates for `config` and `input`; `attentionScratch` gives a backend's scratch bytes for a shape
    /// (nil: the eager bound H × Tq × Tk × 4).
    public init(config: OmniConfig, input: InputSize, audioOutput: Bool,
                attentionScratch: ((AttentionShape) -> Int)? = nil) {
        self.input = input
        let f = 4  // f32 bytes
        let t = config.thinker.text
        let T = input.promptTokens
        let total = T + input.maxNewTokens
        func attn(_ q: Int, _ k: Int, _ h: Int, _ kv: Int, _ hd: Int) -> Int {
            attentionScratch?(AttentionShape(queryLength: q, keyLength: k, heads: h, kvHeads: kv, headDim: hd))
                ?? h * q * k * f
        }
        var formulas = [
            "KV cache = layers × 2 × kv_heads × head_dim × tokens × 4 B (f32 cache); thinker tokens = prompt "
                + "\(T) + new \(input.maxNewTokens)",
        ]
        thinkerKVCache = t.layers * 2 * t.kvHeads * t.headDim * total * f
        var phases: [(String, Int)] = []

        // Encoders run before the decoder; their outputs persist into the prompt embeddings.
        let a = config.thinker.audio
        let audioFrames = Int((input.audioSeconds * 100).rounded(.up))
        if audioFrames > 0 {
            let ta = audioFrames / 2
            let chunk = a.nWindow
            let bytes = a.melBins * audioFrames * f + ta * (4 * a.dModel + 2 * a.ffnDim) * f
                + attn(chunk, chunk, a.heads, a.heads, a.headDim) * max(1, ta / max(1, chunk))
            phases.append(("audio tower", bytes))
            formulas.append("audio tower = mel 128 × F × 4 + (F/2) × (4·d_model + 2·ffn) × 4 + attention per "
                + "n_window chunk; F = 100 frames/s")
        }
        let v = config.thinker.vision
        let np = input.visionPatches
        if np > 0 {
            let perImage = max(input.imagePixels, input.videoFramePixels * (input.videoGroups > 0 ? 1 : 0)) / 196
            let patchIn = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize
            let bytes = np * (patchIn + 4 * v.hiddenSize + 3 * v.intermediateSize) * f
                + attn(perImage, perImage, v.heads, v.heads, v.headDim)
            phases.append(("vision tower", bytes))
            formulas.append("vision tower = Np × (patch 1176 + 4·hidden + 3·intermediate) × 4 + full attention "
                + "over the largest image or frame; Np = pixels / 196")
        }
        let embeds = T * t.hiddenSize * f
        let layer = T * (4 * t.hiddenSize + 3 * t.intermediateSize + 2 * t.heads * t.headDim
            + 2 * t.kvHeads * t.headDim) * f
        phases.append(("thinker prefill", embeds + layer + attn(T, T, t.heads, t.kvHeads, t.headDim)
            + t.vocabSize * f))
        formulas.append("thinker prefill = T × hidden × 4 (embeddings) + T × (4·hidden + 3·intermediate + "
            + "2·heads·head_dim + 2·kv_heads·head_dim) × 4 + attention scratch (eager bound heads × T² × 4 unless the "
            + "backend says) + vocab × 4 (last-position logits); T = \(T)")

        talkerKVCache = 0
        if audioOutput, let tk = config.talker, let tw = config.token2wav {
            let codes = input.talkerCodes, tt = input.talkerTokens, rows = T + 2
            talkerKVCache = tk.layers * 2 * tk.kvHeads * tk.headDim * tt * f
            // The thinker's rows the talker is fed (prompt and reply: embedding and hidden state), its prefill
            // inputs, one layer's working set over the prefill rows, attention, and the codec logits.
            let record = (T + input.maxNewTokens) * 2 * t.hiddenSize * f
            phases.append(("talker prefill", record + rows * 2 * tk.embeddingSize * f
                + rows * (4 * tk.hiddenSize + 3 * tk.intermediateSize + 2 * tk.heads * tk.headDim
                    + 2 * tk.kvHeads * tk.headDim) * f
                + attn(rows, rows, tk.heads, tk.kvHeads, tk.headDim) + tk.vocabSize * f))
            formulas.append("talker KV cache = talker layers × 2 × kv_heads × head_dim × (prompt \(T) + 2 + codes "
                + "\(codes)) × 4 B; codes = --talker-max-new-tokens, else ≈ 16 per new token up to 4096")
            formulas.append("talker prefill = thinker rows (prompt + new) × 2 × hidden × 4 + (prompt + 2) × (2·embedding "
                + "+ 4·hidden + 3·intermediate + 2·heads·head_dim + 2·kv_heads·head_dim) × 4 + attention + vocab × 4")
            let d = tw.dit
            let mel = codes * d.repeats
            phases.append(("token2wav DiT", mel * (10 * d.hiddenSize + 2 * d.ffMult * d.hiddenSize
                + d.melDim * 3) * f + attn(mel, 3 * d.blockSize, d.heads, d.heads, d.headDim)))
            let g = tw.bigvgan
            var frames = mel, peak = 0
            for (i, r) in g.upsampleRates.enumerated() {
                frames *= r
                peak = max(peak, frames * (g.upsampleInitialChannel >> (i + 1)) * f * 6)
            }
            phases.append(("token2wav BigVGAN", peak))
            formulas.append("token2wav: DiT over 2 mel frames per code, attention banded to 3 blocks of block_size; BigVGAN = max over stages of frames × channels × 4 × 6")
        }
        self.phases = phases
        self.formulas = formulas
    }
}
