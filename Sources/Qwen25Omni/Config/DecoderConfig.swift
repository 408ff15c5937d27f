import OmniCore

/// The Qwen2-style decoder fields the thinker's text decoder (`thinker_config.text_config`,
/// `Qwen2_5OmniTextConfig`, OMNI-SPEC §1.1) and the talker (`talker_config`, `Qwen2_5OmniTalkerConfig`, §1.5)
/// share: shapes, activation, RMSNorm epsilon, RoPE (both spellings) with M-RoPE sections, sliding window.
/// One type and one reader, so the two decoders cannot drift apart; `DecoderStack` builds either from it.
///
/// Required: `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`
/// (they fix tensor shapes; a default there would silently mean the 7B). Everything else defaults as §1 says.
public struct DecoderConfig: Sendable, Hashable {
    /// Rows of the token embedding and of the output head (thinker vocabulary, or codec vocabulary).
    public var vocabSize: Int
    /// Decoder width D.
    public var hiddenSize: Int
    /// MLP width I.
    public var intermediateSize: Int
    /// Decoder layers.
    public var layers: Int
    /// Query heads H.
    public var heads: Int
    /// Key/value heads KV (default 4; null means H).
    public var kvHeads: Int
    /// hd: `head_dim` if given; when absent the config class's default (talker 128, text none); else hidden / heads.
    public var headDim: Int
    /// `silu`.
    public var hiddenAct: String
    /// Not used numerically.
    public var maxPositionEmbeddings: Int
    /// Epsilon of every RMSNorm.
    public var rmsNormEps: Float
    /// RoPE base (1e6).
    public var ropeTheta: Double
    /// `default`.
    public var ropeType: String
    /// M-RoPE split of hd/2; [16, 24, 24] when the config has none (as the rotary module does).
    public var mropeSection: [Int]
    /// The sliding window, nil unless `use_sliding_window` is true.
    public var slidingWindow: Int?
    /// `tie_word_embeddings` of this section (the text decoder's is ignored: the thinker config's flag decides).
    public var tieWordEmbeddings: Bool

    /// Reads and validates constraints 1–3 of OMNI-SPEC §9.
    /// - Parameters:
    ///   - absentHeadDim: `head_dim` when the key is absent (the talker class defaults it to 128; the text class
    ///     has no such field, so hidden / heads). A `null` `head_dim` always means hidden / heads.
    ///   - tieDefault: the class default of `tie_word_embeddings` (text true, talker false).
    init(_ r: ConfigReader, absentHeadDim: Int?, tieDefault: Bool) throws {
        vocabSize = try r.int("vocab_size")
        hiddenSize = try r.int("hidden_size")
        intermediateSize = try r.int("intermediate_size")
        layers = try r.int("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        for (v, k) in [(vocabSize, "vocab_size"), (hiddenSize, "hidden_size"), (intermediateSize, "intermediate_size"),
                       (layers, "num_hidden_layers"), (heads, "num_attention_heads")] { try r.positive(v, k) }
        kvHeads = heads
        if r.members["num_key_value_heads"] != .null { kvHeads = try r.int("num_key_value_heads", default: 4) }
        try r.positive(kvHeads, "num_key_value_heads")
        let explicitNull = r.members["head_dim"] == .null
        if let hd = try r.optionalInt("head_dim") ?? (explicitNull ? nil : absentHeadDim) {
            try r.positive(hd, "head_dim")
            headDim = hd
        } else {
            try r.check(hiddenSize % heads == 0, "num_attention_heads",
                        expected: "a divisor of hidden_size (\(hiddenSize))", actual: "\(heads)")
            headDim = hiddenSize / heads
        }
        try r.check(heads % kvHeads == 0, "num_key_value_heads",
                    expected: "a divisor of num_attention_heads (\(heads))", actual: "\(kvHeads)")
        hiddenAct = try r.string("hidden_act", default: "silu")
        maxPositionEmbeddings = try r.int("max_position_embeddings", default: 32768)
        rmsNormEps = try Float(r.double("rms_norm_eps", default: 1e-6))
        let rope = try RopeParameters.read(r, defaultTheta: 1e6, defaultType: "default")
        ropeTheta = rope.theta
        ropeType = rope.type
        mropeSection = rope.mropeSection ?? [16, 24, 24]
        try r.check(mropeSection.reduce(0, +) * 2 == headDim, RopeParameters.mropeKey(r),
                    expected: "sections summing to head_dim/2 (\(headDim / 2))", actual: "\(mropeSection)")
        slidingWindow = try r.bool("use_sliding_window", default: false)
            ? try r.int("sliding_window", default: 32768) : nil
        tieWordEmbeddings = try r.bool("tie_word_embeddings", default: tieDefault)
    }
}

/// `thinker_config.text_config`: the thinker's text decoder (a `DecoderConfig`).
public typealias TextConfig = DecoderConfig
