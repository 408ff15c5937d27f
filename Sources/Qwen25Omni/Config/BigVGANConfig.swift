import OmniCore

/// `token2wav_config.bigvgan_config` (`Qwen2_5OmniBigVGANConfig`, OMNI-SPEC §1.7): mel → 24 kHz waveform.
/// Every key defaults to the 7B value.
public struct BigVGANConfig: Sendable, Hashable {
    /// Mel bins (= DiT mel_dim).
    public var melDim: Int
    /// C0.
    public var upsampleInitialChannel: Int
    /// One resblock kernel per resblock of a stage.
    public var resblockKernelSizes: [Int]
    /// Dilations per resblock kernel (≥ 3 each).
    public var resblockDilationSizes: [[Int]]
    /// Upsampling factor per stage (product 240 in the 7B).
    public var upsampleRates: [Int]
    /// ConvTranspose kernel per stage.
    public var upsampleKernelSizes: [Int]

    /// Output samples per mel frame.
    public var hopLength: Int { upsampleRates.reduce(1, *) }

    /// Reads and validates constraint 28 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        melDim = try r.int("mel_dim", default: 80)
        upsampleInitialChannel = try r.int("upsample_initial_channel", default: 1536)
        resblockKernelSizes = try r.ints("resblock_kernel_sizes", default: [3, 7, 11])
        resblockDilationSizes = try r.intArrays("resblock_dilation_sizes", default: [[1, 3, 5], [1, 3, 5], [1, 3, 5]])
        upsampleRates = try r.ints("upsample_rates", default: [5, 3, 2, 2, 2, 2])
        upsampleKernelSizes = try r.ints("upsample_kernel_sizes", default: [11, 7, 4, 4, 4, 4])
        try r.positive(melDim, "mel_dim")
        try r.check(upsampleKernelSizes.count == upsampleRates.count, "upsample_kernel_sizes",
                    expected: "\(upsampleRates.count) entries (one per upsample rate)",
                    actual: "\(upsampleKernelSizes.count)")
        let stages = 1 << upsampleRates.count
        try r.check(upsampleInitialChannel > 0 && upsampleInitialChannel % stages == 0, "upsample_initial_channel",
                    expected: "a positive multiple of 2^\(upsampleRates.count)", actual: "\(upsampleInitialChannel)")
        try r.check(resblockDilationSizes.count == resblockKernelSizes.count, "resblock_dilation_sizes",
                    expected: "\(resblockKernelSizes.count) lists (one per resblock kernel)",
                    actual: "\(resblockDilationSizes.count)")
        try r.check(resblockDilationSizes.allSatisfy { $0.count >= 3 }, "resblock_dilation_sizes",
                    expected: "lists of ≥ 3 dilations", actual: "\(resblockDilationSizes)")
    }
}
