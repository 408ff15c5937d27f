import OmniCore

/// `talker_config` (`Qwen2_5OmniTalkerConfig`, OMNI-SPEC §1.5): the codec-token decoder.
///
/// Required: `vocab_size`, `embedding_size`, `hidden_size`, `intermediate_size`, `num_hidden_layers`,
/// `num_attention_heads`. `head_dim` is explicit (128 by default) and need not equal hidden / heads.
public struct TalkerConfig: Sendable, Hashable {
    /// Codec vocabulary.
    public var vocabSize: Int
    /// Codec embedding width (= thinker hidden size).
    public var embeddingSize: Int
    /// Talker width Dt.
    public var hiddenSize: Int
    /// MLP width.
    public var intermediateSize: Int
    /// Decoder layers.
    public var layers: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads.
    public var kvHeads: Int
    /// Explicit head dim.
    public var headDim: Int
    /// `silu`.
    public var hiddenAct: String
    /// Not used numerically.
    public var maxPositionEmbeddings: Int
    /// RMSNorm epsilon.
    public var rmsNormEps: Float
    /// RoPE base.
    public var ropeTheta: Double
    /// `default`.
    public var ropeType: String
    /// M-RoPE split of headDim/2 ([16, 24, 24] when absent).
    public var mropeSection: [Int]
    /// Codec BOS.
    public var codecStartTokenID: Int
    /// Codec EOS.
    public var codecEndTokenID: Int
    /// Codec PAD (also an EOS in generate).
    public var codecPadTokenID: Int
    /// Fills the prompt positions of the talker's input ids.
    public var codecMaskTokenID: Int
    /// Thinker-vocabulary id (config only).
    public var textStartTokenID: Int
    /// Thinker-vocabulary "text EOS".
    public var textEndTokenID: Int
    /// Thinker-vocabulary "text PAD".
    public var textPadTokenID: Int
    /// Placeholders for the talker's own rope index (must equal the thinker's).
    public var audioTokenID: Int, imageTokenID: Int, videoTokenID: Int
    /// Audio delimiters.
    public var audioStartTokenID: Int, audioEndTokenID: Int
    /// Vision delimiters.
    public var visionStartTokenID: Int, visionEndTokenID: Int
    /// TMRoPE temporal scale.
    public var positionIDPerSeconds: Int
    /// Interleave chunk.
    public var secondsPerChunk: Int
    /// 2.
    public var spatialMergeSize: Int
    /// nil unless `use_sliding_window`.
    public var slidingWindow: Int?
    /// false: `codec_head` is separate.
    public var tieWordEmbeddings: Bool

    /// Reads and validates constraints 2, 3 and the talker half of 8 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        vocabSize = try r.int("vocab_size")
        embeddingSize = try r.int("embedding_size")
        hiddenSize = try r.int("hidden_size")
        intermediateSize = try r.int("intermediate_size")
        layers = try r.int("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        kvHeads = try r.int("num_key_value_heads", default: 4)
        headDim = try r.int("head_dim", default: 128)
        for (v, k) in [(vocabSize, "vocab_size"), (embeddingSize, "embedding_size"), (hiddenSize, "hidden_size"),
                       (intermediateSize, "intermediate_size"), (layers, "num_hidden_layers"),
                       (heads, "num_attention_heads"), (kvHeads, "num_key_value_heads"), (headDim, "head_dim")] {
            try r.positive(v, k)
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
        codecStartTokenID = try r.int("tts_codec_start_token_id", default: 8293)
        codecEndTokenID = try r.int("tts_codec_end_token_id", default: 8294)
        codecPadTokenID = try r.int("tts_codec_pad_token_id", default: 8292)
        codecMaskTokenID = try r.int("tts_codec_mask_token_id", default: 8296)
        textStartTokenID = try r.int("tts_text_start_token_id", default: 151860)
        textEndTokenID = try r.int("tts_text_end_token_id", default: 151861)
        textPadTokenID = try r.int("tts_text_pad_token_id", default: 151859)
        audioTokenID = try r.int("audio_token_index", "audio_token_id", default: 151646)
        imageTokenID = try r.int("image_token_index", "image_token_id", default: 151655)
        videoTokenID = try r.int("video_token_index", "video_token_id", default: 151656)
        audioStartTokenID = try r.int("audio_start_token_id", default: 151647)
        audioEndTokenID = try r.int("audio_end_token_id", default: 151648)
        visionStartTokenID = try r.int("vision_start_token_id", default: 151652)
        visionEndTokenID = try r.int("vision_end_token_id", default: 151653)
        positionIDPerSeconds = try r.int("position_id_per_seconds", default: 25)
        secondsPerChunk = try r.int("seconds_per_chunk", default: 2)
        spatialMergeSize = try r.int("spatial_merge_size", default: 2)
        tieWordEmbeddings = try r.bool("tie_word_embeddings", default: false)
        for (id, key) in [(codecStartTokenID, "tts_codec_start_token_id"), (codecEndTokenID, "tts_codec_end_token_id"),
                          (codecPadTokenID, "tts_codec_pad_token_id"), (codecMaskTokenID, "tts_codec_mask_token_id")] {
            try r.check(id >= 0 && id < vocabSize, key,
                        expected: "a codec id below vocab_size (\(vocabSize))", actual: "\(id)")
        }
    }

    /// Cross-checks with the thinker (constraints 5, 7 and 8 of OMNI-SPEC §9); `r` reads `talker_config`.
    func validate(against thinker: ThinkerConfig, _ r: ConfigReader) throws {
        let d = thinker.text.hiddenSize
        try r.check(embeddingSize == d, "embedding_size",
                    expected: "thinker_config.text_config.hidden_size (\(d))", actual: "\(embeddingSize)")
        let v = thinker.text.vocabSize
        for (id, key) in [(textEndTokenID, "tts_text_end_token_id"), (textPadTokenID, "tts_text_pad_token_id")] {
            try r.check(id >= 0 && id < v, key,
                        expected: "a token id below thinker_config.text_config.vocab_size (\(v))", actual: "\(id)")
        }
        let pairs: [(Int, Int?, String)] = [
            (audioTokenID, thinker.audioTokenID, "audio_token_index"),
            (imageTokenID, thinker.imageTokenID, "image_token_index"),
            (videoTokenID, thinker.videoTokenID, "video_token_index"),
            (visionStartTokenID, thinker.visionStartTokenID, "vision_start_token_id"),
        ]
        for case let (mine, theirs?, key) in pairs {
            try r.check(mine == theirs, key, expected: "the thinker's value (\(theirs))", actual: "\(mine)")
        }
    }
}
