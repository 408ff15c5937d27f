import OmniCore

/// The talker: mirrors `Qwen2_5OmniTalkerForConditionalGeneration` (transformers 5.17.0, modeling_qwen2_5_omni.py):
/// thinker-side rows plus codec embeddings, summed in the thinker's width E, projected by
/// `thinker_to_talker_proj` (Linear E → Dt with bias), the shared `DecoderStack` (scope `talker.model`, its own
/// M-RoPE sections), and `codec_head` (Linear Dt → codec vocab, no bias). OMNI-SPEC §7.1.
///
/// Describes computation only; `TalkerSession` feeds it the way `Qwen2_5OmniForConditionalGeneration.generate`
/// does (§7.2). Checkpoint names appear only through `scope`.
public struct TalkerModel: Sendable, SessionModel {
    /// The talker config (decoder fields, codec width, special ids).
    public let config: TalkerConfig
    /// The decoder layers and final norm (scope `talker.model`, intermediates `talker.L<i>.…`).
    public var decoder: DecoderStack
    /// Checkpoint scope of the talker (`talker`): `thinker_to_talker_proj`, `model.embed_tokens`, `codec_head`.
    public let scope: WeightScope

    /// The talker; `scope` holds `thinker_to_talker_proj`, `model.*` and `codec_head`.
    public init(config: TalkerConfig, attention: [String] = ["eager"], scope: WeightScope = WeightScope("talker")) {
        self.config = config
        self.scope = scope
        decoder = DecoderStack(config: config.decoder, attention: attention, scope: scope.scoped("model"), name: "talker")
    }

    /// Prefix of every checkpoint key the talker owns.
    public static let keyPrefix = "talker."

    /// Input names: the thinker-side rows (`talker.thinker_embeds` embeddings, `talker.thinker_hidden` final
    /// hidden states; their sum is what the reference feeds), the codec ids added to the last rows, positions.
    public static let thinkerEmbeds = "talker.thinker_embeds", thinkerHidden = "talker.thinker_hidden",
                      codecIDs = "talker.codec_ids", positionIDs = "position_ids"
    /// Output names: last-row codec logits [1, vocab] and the final-normed hidden states [T, Dt].
    public static let logits = "talker.logits", lastHidden = "talker.last_hidden"

    /// How a graph is fed.
    public struct Inputs: Sendable, Hashable {
        /// New rows this step (prefill: prompt + 2; decode: 1).
        public var tokens: Int
        /// How many of the last rows get a codec embedding added (prefill: 2, PAD and BOS; decode: 1).
        public var codecRows: Int
        /// Append K/V to the cache (slot = layer index) and attend over it.
        public var useCache: Bool
        /// A step of `tokens` rows whose last `codecRows` rows carry codec ids.
        public init(tokens: Int, codecRows: Int, useCache: Bool = true) {
            precondition(tokens >= 1 && codecRows >= 0 && codecRows <= tokens, "talker inputs: \(codecRows) of \(tokens)")
            self.tokens = tokens
            self.codecRows = codecRows
            self.useCache = useCache
        }
    }

    /// Graph for one step. Inputs: `talker.thinker_embeds` [T, E], `talker.thinker_hidden` [T, E],
    /// `talker.codec_ids` [C] i64, `position_ids` [3, T] i64. Outputs: `talker.logits` [1, vocab] (f32),
    /// `talker.last_hidden` [T, Dt].
    public func graph(_ io: Inputs) -> Graph {
        let c = config, t = io.tokens, e = c.embeddingSize, dt = c.hiddenSize, v = c.vocabSize
        var g = Graph()
        let embeds = g.input(Self.thinkerEmbeds, shape: [t, e])
        let hidden = g.input(Self.thinkerHidden, shape: [t, e])
        var x = g.add(hidden, embeds, name: "talker.thinker_rows")                                // [T, E]
        if io.codecRows > 0 {
            let ids = g.input(Self.codecIDs, shape: [io.codecRows], dtype: .i64)
            let table = g.weight(scope["model.embed_tokens.weight"], shape: [v, e])
            let codec = g.embedding(table, ids: ids, name: "talker.codec_embeds")                 // [C, E]
            if io.codecRows == t {
                x = g.add(x, codec, name: "talker.inputs_embeds")
            } else {
                let head = g.rows(x, 0..<(t - io.codecRows), name: "talker.prompt_rows")
                let tail = g.rows(x, (t - io.codecRows)..<t, name: "talker.codec_rows")
                let sum = g.add(tail, codec, name: "talker.codec_sum")
                x = g.concat([head, sum], axis: 0, name: "talker.inputs_embeds")
            }
        }
        let proj = g.linear(x, g.weight(scope["thinker_to_talker_proj.weight"], shape: [dt, e]),
                            bias: g.weight(scope["thinker_to_talker_proj.bias"], shape: [dt]), name: "talker.proj")
        let pos = g.input(Self.positionIDs, shape: [3, t], dtype: .i64)
        let h = decoder.build(&g, proj, positions: pos, useCache: io.useCache)                    // [T, Dt]
        let last = t == 1 ? h : g.rows(h, (t - 1)..<t, name: "talker.last_row")
        let logits = g.linear(last, g.weight(scope["codec_head.weight"], shape: [v, dt]), name: Self.logits)
        g.markOutput(logits)
        g.markOutput(h)
        return g
    }

    /// Every checkpoint key this model reads, with its expected shape (for strict loading).
    public func expectedWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        for node in graph(Inputs(tokens: 2, codecRows: 1)).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
