import OmniCore

/// `token2wav_config` (`Qwen2_5OmniToken2WavConfig`): DiT plus BigVGAN; always runs in f32.
public struct Token2WavConfig: Sendable, Hashable {
    /// Codes → mel.
    public var dit: DiTConfig
    /// Mel → waveform.
    public var bigvgan: BigVGANConfig

    /// Reads and validates constraint 26 of OMNI-SPEC §9.
    init(_ r: ConfigReader) throws {
        dit = try DiTConfig(r.object("dit_config"))
        bigvgan = try BigVGANConfig(r.optionalObject("bigvgan_config")
            ?? ConfigReader(file: r.file, path: r.keyPath("bigvgan_config"), value: .object([:])))
        try r.check(dit.melDim == bigvgan.melDim, "bigvgan_config.mel_dim",
                    expected: "dit_config.mel_dim (\(dit.melDim))", actual: "\(bigvgan.melDim)")
    }
}
