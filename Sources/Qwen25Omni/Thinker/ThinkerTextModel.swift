import OmniCore

/// The thinker's text decoder and LM head; mirrors `Qwen2_5OmniThinkerTextModel` + `lm_head`
/// (transformers 5.17.0, modeling_qwen2_5_omni.py): token embedding, the shared `DecoderStack`, the LM head (its own
/// weight, or the embedding when the thinker config ties them).
///
/// Describes computation only; an executor runs the graph. Checkpoint names appear only through `scope`.
public struct ThinkerTextModel: Sendable {
    /// The decoder layers and final norm (scope `thinker.model`, intermediates `thinker.L<i>.…`).
    public var decoder: DecoderStack
    /// Checkpoint key of the LM head weight.
    public let lmHeadKey: String

    /// The thinker's text model; `scope` holds `embed_tokens`, `layers.N` and `norm`.
    public init(config: DecoderConfig, attention: [String] = ["eager"],
                scope: WeightScope = WeightScope("thinker.model"), lmHeadKey: String = "thinker.lm_head.weight") {
        decoder = DecoderStack(config: config, attention: attention, scope: scope, name: "thinker")
        self.lmHeadKey = lmHeadKey
    }

    /// The thinker's text model as `thinker` configures it. With `tie_word_embeddings` (the thinker config's flag,
    /// OMNI-SPEC §1.1) the LM head is the token embedding, as transformers ties `lm_head.weight` to
    /// `model.embed_tokens.weight`; a tied checkpoint may leave `thinker.lm_head.weight` out.
    public init(thinker: ThinkerConfig, attention: [String] = ["eager"]) {
        self.init(config: thinker.text, attention: attention,
                  lmHeadKey: thinker.tieWordEmbeddings ? Self.tiedHeadKey : "thinker.lm_head.weight")
    }

    /// The embedding a tied LM head reads.
    public static let tiedHeadKey = "thinker.model.embed_tokens.weight"

    /// Decoder hyper-parameters.
    public var config: DecoderConfig { decoder.config }
    /// Attention backend chain (`attn_implementation` first, then fallbacks).
    public var attention: [String] { decoder.attention }
    /// Checkpoint scope of the decoder (`thinker.model`).
    public var scope: WeightScope { decoder.scope }

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
        /// A batched decode step: the `tokens` rows are that many sessions' next tokens, row b in cache slots
        /// b·layers + i of a joined cache (`KVCache(joining:)`); logits for every row. Needs `useCache`.
        public var lanes: Bool = false
        /// Return `thinker.last_hidden` [T, D] (what the talker reads). Without it the final hidden states stay
        /// inside the run (no [T, D] copy back from a GPU) and only the logits come back.
        public var returnsHidden: Bool = true
        public init(tokens: Int, fromEmbeddings: Bool = false, lastLogitsOnly: Bool = false, useCache: Bool = true,
                    lanes: Bool = false, returnsHidden: Bool = true) {
            self.tokens = tokens
            self.fromEmbeddings = fromEmbeddings
            self.lastLogitsOnly = lastLogitsOnly
            self.useCache = useCache
            self.lanes = lanes
            self.returnsHidden = returnsHidden
        }
    }

    /// Input names.
    public static let inputIDs = "input_ids", inputsEmbeds = "inputs_embeds", positionIDs = "position_ids"
    /// Output names.
    public static let logits = "thinker.logits", lastHidden = "thinker.last_hidden", embeds = "thinker.embeds"

    /// Graph for one step. Inputs: `input_ids` [T] i64 or `inputs_embeds` [T, D]; `position_ids` [3, T] i64.
    /// Outputs: `thinker.logits` [T or 1, vocab], `thinker.last_hidden` [T, D] (final-normed; when `returnsHidden`).
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
        precondition(!io.lanes || (io.useCache && !io.lastLogitsOnly), "a batched step uses the cache and keeps every row")
        let h = decoder.build(&g, x0, positions: pos, useCache: io.useCache, lanes: io.lanes)  // [T, D]
        let head = g.weight(lmHeadKey, shape: [c.vocabSize, d])
        let rows = io.lastLogitsOnly ? g.rows(h, (t - 1)..<t, name: "thinker.last_row") : h
        let logits = g.linear(rows, head, name: Self.logits)
        g.markOutput(logits)
        if io.returnsHidden { g.markOutput(h) }
        return g
    }

    /// Every checkpoint key this model reads, with its expected shape (for strict loading).
    public func expectedWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        for node in graph(Inputs(tokens: 1)).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
