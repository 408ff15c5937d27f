import OmniCore

/// The Qwen2 decoder both the thinker and the talker run: `config.layers` × `Qwen2_5OmniDecoderLayer`, then the
/// final RMSNorm; mirrors the body of `Qwen2_5OmniThinkerTextModel` and `Qwen2_5OmniTalkerModel` (transformers
/// 5.17.0, modeling_qwen2_5_omni.py), which share the layer class: GQA attention with q/k/v bias, M-RoPE with
/// `mrope_section`, o_proj and SwiGLU MLP without biases, RMSNorm (eps from config).
///
/// One builder for both, parameterized by the checkpoint scope (`thinker.model`, `talker.model`) and the name
/// prefix of its intermediates (`thinker.L3.attn_out`, `talker.L3.attn_out`). Embeddings and heads stay with
/// the models that own them. Describes computation only; an executor runs the graph.
public struct DecoderStack: Sendable {
    /// Shapes, norm epsilon, RoPE.
    public let config: DecoderConfig
    /// Attention backend chain (`attn_implementation` first, then fallbacks).
    public var attention: [String]
    /// Checkpoint scope of `layers.N.*` and `norm.weight`.
    public let scope: WeightScope
    /// Prefix of every intermediate's name (`thinker`, `talker`).
    public let name: String

    /// A stack reading its weights under `scope`, naming its intermediates `name.L<i>.…`.
    public init(config: DecoderConfig, attention: [String], scope: WeightScope, name: String) {
        self.config = config
        self.attention = attention
        self.scope = scope
        self.name = name
    }

    /// Name of the final-normed output, `<name>.last_hidden`.
    public var lastHiddenName: String { "\(name).last_hidden" }

    /// Every layer, then the final norm: x [T, D], positions [3, T] i64 → [T, D] named `lastHiddenName`.
    /// With `useCache`, layer i appends its K/V to cache slot i and attends over the cache. With `lanes`, the T
    /// rows are T independent sequences, one new token each (a batched decode step): row b appends to and attends
    /// over cache slot b·layers + i (`KVCache(joining:)` lays sessions' caches out that way); the linear layers
    /// still run over all T rows at once, so each weight is read once per step for the whole batch.
    public func build(_ g: inout Graph, _ x0: ValueID, positions: ValueID, useCache: Bool, lanes: Bool = false) -> ValueID {
        var x = x0
        for i in 0..<config.layers {
            x = layer(&g, x, positions: positions, index: i, useCache: useCache, lanes: lanes)
        }
        let norm = g.weight(scope["norm.weight"], shape: [config.hiddenSize])
        return g.rmsNorm(x, norm, eps: config.rmsNormEps, name: lastHiddenName)
    }

    /// One `Qwen2_5OmniDecoderLayer`: x [T, D] → [T, D].
    func layer(_ g: inout Graph, _ x: ValueID, positions: ValueID, index i: Int, useCache: Bool, lanes: Bool) -> ValueID {
        let c = config, d = c.hiddenSize, hd = c.headDim
        let s = scope.layer(i), a = s.scoped("self_attn"), m = s.scoped("mlp")
        let n = "\(name).L\(i)"
        let h = g.rmsNorm(x, g.weight(s["input_layernorm.weight"], shape: [d]), eps: c.rmsNormEps, name: "\(n).attn_norm")
        let q = g.linear(h, g.weight(a["q_proj.weight"], shape: [c.heads * hd, d]),          // [T, H·hd]
                         bias: g.weight(a["q_proj.bias"], shape: [c.heads * hd]), name: "\(n).q")
        let k = g.linear(h, g.weight(a["k_proj.weight"], shape: [c.kvHeads * hd, d]),        // [T, KV·hd]
                         bias: g.weight(a["k_proj.bias"], shape: [c.kvHeads * hd]), name: "\(n).k")
        let v = g.linear(h, g.weight(a["v_proj.weight"], shape: [c.kvHeads * hd, d]),        // [T, KV·hd]
                         bias: g.weight(a["v_proj.bias"], shape: [c.kvHeads * hd]), name: "\(n).v")
        let rope = RopeKind.multimodal(sections: c.mropeSection)
        let theta = Float(c.ropeTheta)
        let qr = g.rope(q, positions: positions, heads: c.heads, headDim: hd, theta: theta, kind: rope, name: "\(n).q_rope")
        let kr = g.rope(k, positions: positions, heads: c.kvHeads, headDim: hd, theta: theta, kind: rope, name: "\(n).k_rope")
        let spec = AttentionSpec(heads: c.heads, kvHeads: c.kvHeads, headDim: hd, causal: true,
                                 window: c.slidingWindow, cacheSlot: useCache ? i : nil, backendChain: attention)
        let rowsIn = g[x].shape[0]
        let att = lanes && rowsIn > 1
            ? laneAttention(&g, q: qr, k: kr, v: v, spec: spec, layer: i, lanes: rowsIn, name: "\(n).attn")
            : g.attention(q: qr, k: kr, v: v, spec: spec, name: "\(n).attn")                     // [T, H·hd]
        let o = g.linear(att, g.weight(a["o_proj.weight"], shape: [d, c.heads * hd]), name: "\(n).attn_out")
        let x1 = g.add(x, o, name: "\(n).attn_residual")
        let h2 = g.rmsNorm(x1, g.weight(s["post_attention_layernorm.weight"], shape: [d]), eps: c.rmsNormEps,
                           name: "\(n).ffn_norm")
        let gate = g.linear(h2, g.weight(m["gate_proj.weight"], shape: [c.intermediateSize, d]), name: "\(n).gate")
        let up = g.linear(h2, g.weight(m["up_proj.weight"], shape: [c.intermediateSize, d]), name: "\(n).up")
        let act = g.swiglu(gate: gate, up: up, name: "\(n).act")                                  // [T, I]
        let down = g.linear(act, g.weight(m["down_proj.weight"], shape: [d, c.intermediateSize]), name: "\(n).ffn_out")
        return g.add(x1, down, name: "\(n).out")
    }

    /// Attention of a batched decode step: row b of q [B, H·hd], k and v [B, KV·hd] is its own sequence, written to
    /// and attending over cache slot b·layers + `layer` → [B, H·hd] (rows back in order).
    func laneAttention(_ g: inout Graph, q: ValueID, k: ValueID, v: ValueID, spec: AttentionSpec, layer i: Int,
                       lanes: Int, name n: String) -> ValueID {
        var outs: [ValueID] = []
        for b in 0..<lanes {
            var s = spec
            s.cacheSlot = b * config.layers + i
            let qb = g.rows(q, b..<(b + 1), name: "\(n).q.b\(b)")                                  // [1, H·hd]
            let kb = g.rows(k, b..<(b + 1), name: "\(n).k.b\(b)")                                  // [1, KV·hd]
            let vb = g.rows(v, b..<(b + 1), name: "\(n).v.b\(b)")                                  // [1, KV·hd]
            outs.append(g.attention(q: qb, k: kb, v: vb, spec: s, name: "\(n).b\(b)"))            // [1, H·hd]
        }
        return g.concat(outs, axis: 0, name: n)                                                    // [B, H·hd]
    }
}
