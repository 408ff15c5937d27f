import OmniCore

/// `thinker_config` (`Qwen2_5OmniThinkerConfig`, OMNI-SPEC §1.2): text decoder plus audio and vision towers.
public struct ThinkerConfig: Sendable, Hashable {
    /// The text decoder.
    public var text: DecoderConfig
    /// The audio tower.
    public var audio: AudioConfig
    /// The vision tower.
    public var vision: VisionConfig
    /// `<|AUDIO|>` placeholder (`audio_token_index`, alias `audio_token_id`).
    public var audioTokenID: Int
    /// `<|IMAGE|>` placeholder.
    public var imageTokenID: Int
    /// `<|VIDEO|>` placeholder.
    public var videoTokenID: Int
    /// `<|audio_bos|>`.
    public var audioStartTokenID: Int
    /// `<|audio_eos|>`.
    public var audioEndTokenID: Int
    /// `<|vision_bos|>`: an extra key the reference needs for image/video positions (§1.2); nil when absent.
    public var visionStartTokenID: Int?
    /// `<|vision_eos|>`; nil when absent.
    public var visionEndTokenID: Int?
    /// `user` token (not read by the model).
    public var userTokenID: Int
    /// TMRoPE temporal scale (25).
    public var positionIDPerSeconds: Int
    /// Audio/video interleave chunk (2).
    public var secondsPerChunk: Int
    /// Whether lm_head shares embed_tokens' weight (false; this flag, not text_config's, decides).
    public var tieWordEmbeddings: Bool

    /// Reads and validates constraints 4 and 7 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        text = try DecoderConfig(r.object("text_config"), absentHeadDim: nil, tieDefault: true)
        audio = try AudioConfig(r.object("audio_config"))
        vision = try VisionConfig(r.object("vision_config"))
        audioTokenID = try r.int("audio_token_index", "audio_token_id", default: 151646)
        imageTokenID = try r.int("image_token_index", "image_token_id", default: 151655)
        videoTokenID = try r.int("video_token_index", "video_token_id", default: 151656)
        audioStartTokenID = try r.int("audio_start_token_id", default: 151647)
        audioEndTokenID = try r.int("audio_end_token_id", default: 151648)
        visionStartTokenID = try r.optionalInt("vision_start_token_id")
        visionEndTokenID = try r.optionalInt("vision_end_token_id")
        userTokenID = try r.int("user_token_id", default: 872)
        positionIDPerSeconds = try r.int("position_id_per_seconds", default: 25)
        secondsPerChunk = try r.int("seconds_per_chunk", default: 2)
        tieWordEmbeddings = try r.bool("tie_word_embeddings", default: false)

        let d = text.hiddenSize
        try r.check(audio.outputDim == d, "audio_config.output_dim",
                    expected: "text_config.hidden_size (\(d))", actual: "\(audio.outputDim)")
        try r.check(vision.outHiddenSize == d, "vision_config.out_hidden_size",
                    expected: "text_config.hidden_size (\(d))", actual: "\(vision.outHiddenSize)")
        let ids: [(Int?, String)] = [
            (audioTokenID, r.has("audio_token_id") && !r.has("audio_token_index") ? "audio_token_id" : "audio_token_index"),
            (imageTokenID, r.has("image_token_id") && !r.has("image_token_index") ? "image_token_id" : "image_token_index"),
            (videoTokenID, r.has("video_token_id") && !r.has("video_token_index") ? "video_token_id" : "video_token_index"),
            (audioStartTokenID, "audio_start_token_id"), (audioEndTokenID, "audio_end_token_id"),
            (visionStartTokenID, "vision_start_token_id"), (visionEndTokenID, "vision_end_token_id"),
        ]
        for case let (id?, key) in ids {
            try r.check(id >= 0 && id < text.vocabSize, key,
                        expected: "a token id below text_config.vocab_size (\(text.vocabSize))", actual: "\(id)")
        }
    }
}
