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

extension Token2WavConfig {
    /// The Qwen2.5-Omni-7B token2wav shapes (OMNI-SPEC §1.6, §1.7: DiT 22 layers of 1024 with 16 heads, BigVGAN from
    /// 1536 channels; every other field at its default), for benchmarks on synthetic weights.
    public static func qwen25Omni7B() throws -> Token2WavConfig {
        let dit: JSONValue = .object(["hidden_size": .int(1024), "num_hidden_layers": .int(22), "num_attention_heads": .int(16)])
        return try Token2WavConfig(ConfigReader(file: "(Qwen2.5-Omni-7B defaults)", path: "token2wav_config",
                                                value: .object(["dit_config": dit])))
    }
}
