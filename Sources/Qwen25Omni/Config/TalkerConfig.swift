import OmniCore

/// `talker_config` (`Qwen2_5OmniTalkerConfig`, OMNI-SPEC §1.5): the codec-token decoder.
///
/// Its decoder fields are a `DecoderConfig` (the same type as the thinker's text decoder; read them through
/// `decoder` or directly, `talker.layers`). `head_dim` is explicit (128 by default) and need not equal
/// hidden / heads. The rest are the talker's own: the codec embedding width and the special ids.
@dynamicMemberLookup
public struct TalkerConfig: Sendable, Hashable {
    /// The decoder: codec vocabulary, width Dt, layers, heads, M-RoPE sections…
    public var decoder: DecoderConfig
    /// Codec embedding width (= thinker hidden size): the input width of `thinker_to_talker_proj`.
    public var embeddingSize: Int
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

    /// Reads and validates constraints 2, 3 and the talker half of 8 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        decoder = try DecoderConfig(r, absentHeadDim: 128, tieDefault: false)
        embeddingSize = try r.int("embedding_size")
        try r.positive(embeddingSize, "embedding_size")
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
        let vocabSize = decoder.vocabSize
        for (id, key) in [(codecStartTokenID, "tts_codec_start_token_id"), (codecEndTokenID, "tts_codec_end_token_id"),
                          (codecPadTokenID, "tts_codec_pad_token_id"), (codecMaskTokenID, "tts_codec_mask_token_id")] {
            try r.check(id >= 0 && id < vocabSize, key,
                        expected: "a codec id below vocab_size (\(vocabSize))", actual: "\(id)")
        }
    }

    /// Reads a `talker_config` object on its own (synthetic models, benchmarks); errors name `file` and
    /// `talker_config.<key>`. The cross-checks against a thinker are `OmniConfig`'s.
    public init(raw: JSONValue, file: String = "config.json") throws {
        try self.init(ConfigReader(file: file, path: "talker_config", value: raw))
    }

    /// A decoder field (`talker.layers`, `talker.headDim`…).
    public subscript<T>(dynamicMember field: KeyPath<DecoderConfig, T>) -> T { decoder[keyPath: field] }

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

extension TalkerConfig {
    /// The thinker config with the fields the talker's own `get_rope_index` reads replaced by the talker's
    /// (placeholder and delimiter ids, merge size, TMRoPE scale and chunk), so `RopeIndex` gives the talker's
    /// positions exactly as the reference computes them from `talker_config`.
    public func ropeIndexConfig(thinker: ThinkerConfig) -> ThinkerConfig {
        var c = thinker
        c.audioTokenID = audioTokenID
        c.imageTokenID = imageTokenID
        c.videoTokenID = videoTokenID
        c.audioStartTokenID = audioStartTokenID
        c.audioEndTokenID = audioEndTokenID
        c.visionStartTokenID = visionStartTokenID
        c.visionEndTokenID = visionEndTokenID
        c.positionIDPerSeconds = positionIDPerSeconds
        c.secondsPerChunk = secondsPerChunk
        c.vision.spatialMergeSize = spatialMergeSize
        return c
    }
}
