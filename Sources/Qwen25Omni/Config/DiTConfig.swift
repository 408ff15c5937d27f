import OmniCore

/// `token2wav_config.dit_config` (`Qwen2_5OmniDiTConfig`, OMNI-SPEC §1.6): codes → mel.
///
/// Required: `hidden_size`, `num_hidden_layers`, `num_attention_heads`; the rest defaults as §1.6 says.
public struct DiTConfig: Sendable, Hashable {
    /// DiT width Hd.
    public var hiddenSize: Int
    /// Blocks.
    public var layers: Int
    /// Heads.
    public var heads: Int
    /// Head dim (64).
    public var headDim: Int
    /// FFN width = ffMult · Hd.
    public var ffMult: Int
    /// Codec embedding width E.
    public var embDim: Int
    /// 1-D rotary base.
    public var ropeTheta: Double
    /// Max mel length `sample()` allows.
    public var maxPositionEmbeddings: Int
    /// Attention block in mel frames.
    public var blockSize: Int
    /// Layers that also see the next block.
    public var lookAheadLayers: [Int]
    /// Layers that also see the previous block.
    public var lookBackwardLayers: [Int]
    /// Mel frames per codec token.
    public var repeats: Int
    /// Codec embedding rows − 1.
    public var numEmbeds: Int
    /// Mel bins.
    public var melDim: Int
    /// Inactive at inference.
    public var dropout: Double
    /// Speaker vector width.
    public var encEmbDim: Int
    /// ECAPA output width.
    public var encDim: Int
    /// ECAPA channels.
    public var encChannels: [Int]
    /// ECAPA kernel sizes.
    public var encKernelSizes: [Int]
    /// ECAPA dilations.
    public var encDilations: [Int]
    /// ECAPA attentive-pooling channels.
    public var encAttentionChannels: Int
    /// Res2Net scale.
    public var encRes2NetScale: Int
    /// Squeeze-excitation channels.
    public var encSEChannels: Int

    /// Reads and validates constraints 20–23 and 25 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        hiddenSize = try r.int("hidden_size")
        layers = try r.int("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        headDim = try r.int("head_dim", default: 64)
        ffMult = try r.int("ff_mult", default: 2)
        embDim = try r.int("emb_dim", default: 512)
        ropeTheta = try RopeParameters.read(r, defaultTheta: 10000, defaultType: "default").theta
        maxPositionEmbeddings = try r.int("max_position_embeddings", default: 32768)
        blockSize = try r.int("block_size", default: 24)
        lookAheadLayers = try r.ints("look_ahead_layers", default: [10])
        lookBackwardLayers = try r.ints("look_backward_layers", default: [0, 20])
        repeats = try r.int("repeats", default: 2)
        numEmbeds = try r.int("num_embeds", default: 8193)
        melDim = try r.int("mel_dim", default: 80)
        dropout = try r.double("dropout", default: 0.1)
        encEmbDim = try r.int("enc_emb_dim", default: 192)
        encDim = try r.int("enc_dim", default: 128)
        encChannels = try r.ints("enc_channels", default: [256, 256, 256, 256, 768])
        encKernelSizes = try r.ints("enc_kernel_sizes", default: [5, 3, 3, 3, 1])
        encDilations = try r.ints("enc_dilations", default: [1, 2, 3, 4, 1])
        encAttentionChannels = try r.int("enc_attention_channels", default: 64)
        encRes2NetScale = try r.int("enc_res2net_scale", default: 2)
        encSEChannels = try r.int("enc_se_channels", default: 64)
        for (v, k) in [(hiddenSize, "hidden_size"), (layers, "num_hidden_layers"), (heads, "num_attention_heads"),
                       (headDim, "head_dim"), (ffMult, "ff_mult"), (embDim, "emb_dim"), (blockSize, "block_size"),
                       (repeats, "repeats"), (numEmbeds, "num_embeds"), (melDim, "mel_dim"),
                       (encRes2NetScale, "enc_res2net_scale")] { try r.positive(v, k) }
        try r.check(headDim % 2 == 0, "head_dim", expected: "an even number", actual: "\(headDim)")
        let n = encChannels.count
        try r.check(n >= 2 && encKernelSizes.count == n && encDilations.count == n, "enc_channels",
                    expected: "≥ 2 entries, as many as enc_kernel_sizes (\(encKernelSizes.count)) and "
                        + "enc_dilations (\(encDilations.count))", actual: "\(n) entries")
        try r.check(Set(encChannels.dropLast()).count == 1, "enc_channels",
                    expected: "equal entries except the last", actual: "\(encChannels)")
        try r.check(encChannels[1..<(n - 1)].reduce(0, +) == encChannels[n - 1], "enc_channels",
                    expected: "last entry = sum of the middle ones (\(encChannels[1..<(n - 1)].reduce(0, +)))",
                    actual: "\(encChannels[n - 1])")
        try r.check(encChannels.allSatisfy { $0 > 0 && $0 % encRes2NetScale == 0 }, "enc_channels",
                    expected: "positive multiples of enc_res2net_scale (\(encRes2NetScale))", actual: "\(encChannels)")
    }
}
