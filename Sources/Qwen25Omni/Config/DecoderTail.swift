/// The settings every Qwen2-style decoder config shares after its shapes (thinker text decoder, talker):
/// activation, positions, RMSNorm epsilon, RoPE (both spellings) with the M-RoPE check against `headDim`,
/// and the sliding window. One reader, so the two configs cannot drift apart.
struct DecoderTail {
    var hiddenAct: String
    var maxPositionEmbeddings: Int
    var rmsNormEps: Float
    var ropeTheta: Double
    var ropeType: String
    var mropeSection: [Int]
    var slidingWindow: Int?

    /// Reads the keys with OMNI-SPEC §1 defaults; checks that `mrope_section` sums to headDim / 2.
    init(_ r: ConfigReader, headDim: Int) throws {
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
    }
}
