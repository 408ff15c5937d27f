import OmniCore

/// `thinker_config.audio_config` (`Qwen2_5OmniAudioEncoderConfig`, OMNI-SPEC §1.3): the Whisper-style audio tower.
///
/// Required: `d_model`, `encoder_layers`, `encoder_attention_heads`, `encoder_ffn_dim`, `output_dim`.
public struct AudioConfig: Sendable, Hashable {
    /// conv1 in-channels (128, the feature extractor's `feature_size`).
    public var melBins: Int
    /// Encoder width.
    public var dModel: Int
    /// Encoder layers.
    public var layers: Int
    /// Attention heads.
    public var heads: Int
    /// FFN width.
    public var ffnDim: Int
    /// `gelu` (exact erf).
    public var activation: String
    /// Rows of the sinusoidal table.
    public var maxSourcePositions: Int
    /// Chunk = 2·nWindow mel frames.
    public var nWindow: Int
    /// Projection width (= thinker hidden size).
    public var outputDim: Int
    /// Computed but never applied by the reference forward.
    public var scaleEmbedding: Bool

    /// dModel / heads.
    public var headDim: Int { dModel / heads }

    /// Reads and validates constraints 15–17 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        melBins = try r.int("num_mel_bins", default: 128)
        dModel = try r.int("d_model")
        layers = try r.int("encoder_layers")
        heads = try r.int("encoder_attention_heads")
        ffnDim = try r.int("encoder_ffn_dim")
        outputDim = try r.int("output_dim")
        activation = try r.string("activation_function", default: "gelu")
        maxSourcePositions = try r.int("max_source_positions", default: 1500)
        nWindow = try r.int("n_window", default: 100)
        scaleEmbedding = try r.bool("scale_embedding", default: false)
        for (v, k) in [(melBins, "num_mel_bins"), (dModel, "d_model"), (layers, "encoder_layers"),
                       (heads, "encoder_attention_heads"), (ffnDim, "encoder_ffn_dim"), (outputDim, "output_dim"),
                       (nWindow, "n_window")] { try r.positive(v, k) }
        try r.check(dModel % heads == 0, "encoder_attention_heads",
                    expected: "a divisor of d_model (\(dModel))", actual: "\(heads)")
        try r.check(dModel % 2 == 0 && dModel >= 4, "d_model", expected: "an even number ≥ 4", actual: "\(dModel)")
        try r.check(maxSourcePositions >= nWindow, "max_source_positions",
                    expected: "≥ n_window (\(nWindow))", actual: "\(maxSourcePositions)")
    }
}
