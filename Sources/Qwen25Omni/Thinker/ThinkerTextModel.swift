import OmniCore

/// The thinker's text decoder and LM head; mirrors `Qwen2_5OmniThinkerTextModel` + `lm_head`
/// (transformers 5.17.0, modeling_qwen2_5_omni.py): GQA attention with q/k/v bias, M-RoPE with
/// `mrope_section`, SwiGLU MLP without biases, RMSNorm (eps from config), untied LM head.
///
/// Describes computation only; an executor runs the graph. Checkpoint names appear only through `scope`.
public struct ThinkerTextModel: Sendable {
    /// Decoder hyper-parameters.
    public let config: TextConfig
    /// Attention backend chain (`attn_implementation` first, then fallbacks).
    public var attention: [String]
    /// Checkpoint scope of the decoder (`thinker.model`).
    public let scope: WeightScope
    /// Checkpoint key of the LM head weight.
    public let lmHeadKey: String

    public init(config: TextConfig, attention: [String] = ["eager"],
                scope: WeightScope = WeightScope("thinker.model"), lmHeadKey: String = "thinker.lm_head.weight") {
        self.config = config
        self.attention = attention
        self.scope = scope
        self.lmHeadKey = lmHeadKey
    }

    /// How a graph is fed and what it returns.
    public struct Inputs: Sendable, Hashable {
        /// New tokens this step (prefill: the prompt; decode: 1).
        public var tokens: Int
        /// Feed `inputs_embeds` [T, D] instead of `input_ids` [T] (multimodal merges happen outside).
        public var fromEmbeddings: Bool = false
        /// Compute logits for the last row only (generation) instead of every row (forward).
        public var lastLogitsOnly: Bool = false
        /// Append K/V to the cache (slot = layer index) and attend over it.
        public var useCache: Bool = true
        public init(tokens: Int, fromEmbeddings: Bool = false, lastLogitsOnly: Bool = false, useCache: Bool = true) {
            self.tokens = tokens
            self.fromEmbeddings = fromEmbeddings
            self.lastLogitsOnly = lastLogitsOnly
            self.useCache = useCache
        }
    }

    /// Input names.
    public static let inputIDs = "input_ids", inputsEmbeds = "inputs_embeds", positionIDs = "position_ids"
    /// Output names.
    public static let logits = "thinker.logits", lastHidden = "thinker.last_hidden", embeds = "thinker.embeds"

    /// Graph for one step. Inputs: `input_ids` [T] i64 or `inputs_embeds` [T, D]; `position_ids` [3, T] i64.
    /// Outputs: `thinker.logits` [T or 1, vocab], `thinker.last_hidden` [T, D] (final-normed).
    public func graph(_ io: Inputs) -> Graph {
        let c = config
        let t = io.tokens, d = c.hiddenSize
        var g = Graph()
        let x0: ValueID
        if io.fromEmbeddings {
            x0 = g.input(Self.inputsEmbeds, shape: [t, d])
        } else {
            let ids = g.input(Self.inputIDs, shape: [t], dtype: .i64)
            let table = g.weight(scope["embed_tokens.weight"], shape: [c.vocabSize, d])
            x0 = g.embedding(table, ids: ids, name: Self.embeds)
        }
        let pos = g.input(Self.positionIDs, shape: [3, t], dtype: .i64)
        var x = x0
        for i in 0..<c.layers {
            x = decoderLayer(&g, x, positions: pos, layer: i, io: io)
        }
        let norm = g.weight(scope["norm.weight"], shape: [d])
        let h = g.rmsNorm(x, norm, eps: c.rmsNormEps, name: Self.lastHidden)
        let head = g.weight(lmHeadKey, shape: [c.vocabSize, d])
        let rows = io.lastLogitsOnly ? g.rows(h, (t - 1)..<t, name: "thinker.last_row") : h
        let logits = g.linear(rows, head, name: Self.logits)
        g.markOutput(logits)
        g.markOutput(h)
        return g
    }

    /// One `Qwen2_5OmniDecoderLayer`: x [T, D] → [T, D].
    func decoderLayer(_ g: inout Graph, _ x: ValueID, positions: ValueID, layer i: Int, io: Inputs) -> ValueID {
        let c = config, d = c.hiddenSize, hd = c.headDim
        let s = scope.layer(i), a = s.scoped("self_attn"), m = s.scoped("mlp")
        let n = "thinker.L\(i)"
        let h = g.rmsNorm(x, g.weight(s["input_layernorm.weight"], shape: [d]), eps: c.rmsNormEps, name: "\(n).attn_norm")
        let q = g.linear(h, g.weight(a["q_proj.weight"], shape: [c.heads * hd, d]),
                         bias: g.weight(a["q_proj.bias"], shape: [c.heads * hd]), name: "\(n).q")
        let k = g.linear(h, g.weight(a["k_proj.weight"], shape: [c.kvHeads * hd, d]),
                         bias: g.weight(a["k_proj.bias"], shape: [c.kvHeads * hd]), name: "\(n).k")
        let v = g.linear(h, g.weight(a["v_proj.weight"], shape: [c.kvHeads * hd, d]),
                         bias: g.weight(a["v_proj.bias"], shape: [c.kvHeads * hd]), name: "\(n).v")
        let rope = RopeKind.multimodal(sections: c.mropeSection)
        let theta = Float(c.ropeTheta)
        let qr = g.rope(q, positions: positions, heads: c.heads, headDim: hd, theta: theta, kind: rope, name: "\(n).q_rope")
        let kr = g.rope(k, positions: positions, heads: c.kvHeads, headDim: hd, theta: theta, kind: rope, name: "\(n).k_rope")
        let spec = AttentionSpec(heads: c.heads, kvHeads: c.kvHeads, headDim: hd, causal: true,
                                 window: c.slidingWindow, cacheSlot: io.useCache ? i : nil, backendChain: attention)
        let att = g.attention(q: qr, k: kr, v: v, spec: spec, name: "\(n).attn")
        let o = g.linear(att, g.weight(a["o_proj.weight"], shape: [d, c.heads * hd]), name: "\(n).attn_out")
        let x1 = g.add(x, o, name: "\(n).attn_residual")
        let h2 = g.rmsNorm(x1, g.weight(s["post_attention_layernorm.weight"], shape: [d]), eps: c.rmsNormEps,
                           name: "\(n).ffn_norm")
        let gate = g.linear(h2, g.weight(m["gate_proj.weight"], shape: [c.intermediateSize, d]), name: "\(n).gate")
        let up = g.linear(h2, g.weight(m["up_proj.weight"], shape: [c.intermediateSize, d]), name: "\(n).up")
        let act = g.swiglu(gate: gate, up: up, name: "\(n).act")
        let down = g.linear(act, g.weight(m["down_proj.weight"], shape: [d, c.intermediateSize]), name: "\(n).ffn_out")
        return g.add(x1, down, name: "\(n).out")
    }

    /// Every checkpoint key this model reads, with its expected shape (for strict loading).
    public func expectedWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        for node in graph(Inputs(tokens: 1)).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
