import OmniCore

/// `thinker_config.vision_config` (`Qwen2_5OmniVisionEncoderConfig`, OMNI-SPEC §1.4): the windowed ViT.
///
/// Required: `depth`, `hidden_size`, `num_heads` (alias `num_attention_heads`), `intermediate_size`,
/// `out_hidden_size`. Legacy keys the reference ignores (`embed_dim`, `in_chans`…) stay in `OmniConfig.raw`.
public struct VisionConfig: Sendable, Hashable {
    /// Blocks.
    public var depth: Int
    /// ViT width Hv.
    public var hiddenSize: Int
    /// Attention heads.
    public var heads: Int
    /// SwiGLU width Iv.
    public var intermediateSize: Int
    /// `silu`.
    public var hiddenAct: String
    /// 3.
    public var inChannels: Int
    /// 14.
    public var patchSize: Int
    /// 2.
    public var temporalPatchSize: Int
    /// 2 (2×2 merge).
    public var spatialMergeSize: Int
    /// Attention window in pixels (112).
    public var windowSize: Int
    /// Blocks with full (per-frame) attention.
    public var fullAttentionBlockIndexes: [Int]
    /// Merger output width (= thinker hidden size).
    public var outHiddenSize: Int
    /// 2-D rotary base (10000).
    public var ropeTheta: Double

    /// hiddenSize / heads.
    public var headDim: Int { hiddenSize / heads }

    /// Reads and validates constraints 10, 11 and 14 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        depth = try r.int("depth")
        hiddenSize = try r.int("hidden_size")
        heads = try r.int("num_heads", "num_attention_heads")
        intermediateSize = try r.int("intermediate_size")
        outHiddenSize = try r.int("out_hidden_size")
        hiddenAct = try r.string("hidden_act", default: "silu")
        inChannels = try r.int("in_channels", default: 3)
        patchSize = try r.int("patch_size", default: 14)
        temporalPatchSize = try r.int("temporal_patch_size", default: 2)
        spatialMergeSize = try r.int("spatial_merge_size", default: 2)
        windowSize = try r.int("window_size", default: 112)
        fullAttentionBlockIndexes = try r.ints("fullatt_block_indexes", default: [7, 15, 23, 31])
        for (v, k) in [(depth, "depth"), (hiddenSize, "hidden_size"), (heads, "num_heads"),
                       (intermediateSize, "intermediate_size"), (outHiddenSize, "out_hidden_size"),
                       (inChannels, "in_channels"), (patchSize, "patch_size"),
                       (temporalPatchSize, "temporal_patch_size"), (spatialMergeSize, "spatial_merge_size")] {
            try r.positive(v, k)
        }
        try r.check(hiddenSize % heads == 0 && (hiddenSize / heads) % 4 == 0, "num_heads",
                    expected: "a divisor of hidden_size (\(hiddenSize)) leaving a head dim divisible by 4",
                    actual: "\(heads)")
        try r.check(windowSize / spatialMergeSize / patchSize >= 1, "window_size",
                    expected: "≥ spatial_merge_size × patch_size (\(spatialMergeSize * patchSize))",
                    actual: "\(windowSize)")
        let rope = try RopeParameters.read(r, defaultTheta: 10000, defaultType: "axial")
        try r.check(rope.type == "axial", "rope_parameters.rope_type", expected: "\"axial\"", actual: "\"\(rope.type)\"")
        ropeTheta = rope.theta
    }
}
