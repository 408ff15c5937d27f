import OmniCore

/// `thinker_config.text_config` (`Qwen2_5OmniTextConfig`, OMNI-SPEC §1.1): the thinker's text decoder.
///
/// Required: `vocab_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`, `num_attention_heads`
/// (they fix tensor shapes; a default there would silently mean the 7B). Everything else defaults as §1.1 says.
public struct TextConfig: Sendable, Hashable {
    /// Rows of embed_tokens and lm_head.
    public var vocabSize: Int
    /// D.
    public var hiddenSize: Int
    /// MLP width I.
    public var intermediateSize: Int
    /// Decoder layers.
    public var layers: Int
    /// Query heads H.
    public var heads: Int
    /// Key/value heads KV (default 4; null means H).
    public var kvHeads: Int
    /// hd: `head_dim` if given, else hidden / heads.
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
    /// Ignored by the model (the thinker config's flag decides, §1.1).
    public var tieWordEmbeddings: Bool

    /// Reads and validates constraints 1–3 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
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
        if let hd = try r.optionalInt("head_dim") {
            try r.positive(hd, "head_dim")
            headDim = hd
        } else {
            try r.check(hiddenSize % heads == 0, "num_attention_heads",
                        expected: "a divisor of hidden_size (\(hiddenSize))", actual: "\(heads)")
            headDim = hiddenSize / heads
        }
        try r.check(heads % kvHeads == 0, "num_key_value_heads",
                    expected: "a divisor of num_attention_heads (\(heads))", actual: "\(kvHeads)")
        let tail = try DecoderTail(r, headDim: headDim)
        hiddenAct = tail.hiddenAct
        maxPositionEmbeddings = tail.maxPositionEmbeddings
        rmsNormEps = tail.rmsNormEps
        ropeTheta = tail.ropeTheta
        ropeType = tail.ropeType
        mropeSection = tail.mropeSection
        slidingWindow = tail.slidingWindow
        tieWordEmbeddings = try r.bool("tie_word_embeddings", default: true)
    }
}
