import OmniCore

/// How the talker generates codes: `Qwen2_5OmniForConditionalGeneration.generate`'s `talker_*` arguments
/// (OMNI-SPEC §7.2, §8). The defaults are the reference's: sampling with temperature 0.9, top-k 40, top-p 0.8,
/// repetition penalty 1.05, at most 4096 new codes, ending at the config's codec PAD or EOS.
public struct TalkerOptions: Sendable {
    /// The speaker's text BOS (`spk_dict[speaker]["bos_token"]`): a thinker-vocabulary id whose embedding opens
    /// the talker's reply (`Speakers` reads it; any id below the thinker's vocabulary is accepted).
    public var speakerBOS: Int
    /// Most codes to generate, the ending code included (`talker_max_new_tokens`).
    public var maxNewTokens: Int
    /// Sampling (`SamplingOptions.talker()`); `minNewTokens` there keeps the ending codes away that long.
    public var sampling: SamplingOptions
    /// Codes that end generation (nil: the config's `tts_codec_pad_token_id` and `tts_codec_end_token_id`).
    public var eos: Set<Int>?
    /// Prefill the talker's rows in chunks of at most this many (nil: in one step); 1 … the talker's positions.
    public var prefillChunk: Int?
    /// Start the talker as soon as the thinker's first two reply tokens exist and feed it each reply token as it is
    /// produced (codes, and audio in `speak`, then interleave with the thinker's tokens), instead of after the
    /// thinker has finished. The codes are the same either way: step n only waits for the reply row it reads.
    public var interleaved = false

    /// Options for `speakerBOS`; `greedy` keeps the repetition penalty (as `talker_do_sample=False` does).
    public init(speakerBOS: Int, maxNewTokens: Int = 4096, minNewTokens: Int = 0, greedy: Bool = false,
                seed: UInt64 = 0, eos: Set<Int>? = nil, prefillChunk: Int? = nil) {
        self.speakerBOS = speakerBOS
        self.maxNewTokens = maxNewTokens
        var s = SamplingOptions.talker(seed: seed)
        s.greedy = greedy
        s.minNewTokens = minNewTokens
        sampling = s
        self.eos = eos
        self.prefillChunk = prefillChunk
    }

    /// The accepted range of `maxNewTokens` (`--talker-max-new-tokens`).
    public static let maxNewTokensRange = 1...1_000_000

    /// Throws `OmniError.invalidArgument` naming the CLI flag and the accepted range for a value out of range.
    /// `thinkerVocab` bounds the speaker BOS.
    public func validate(thinkerVocab: Int) throws {
        guard speakerBOS >= 0, speakerBOS < thinkerVocab else {
            throw OmniError.invalidArgument(name: "--speaker-bos", expected: "a thinker token id in 0..<\(thinkerVocab)",
                                            actual: "\(speakerBOS)")
        }
        guard Self.maxNewTokensRange.contains(maxNewTokens) else {
            throw OmniError.invalidArgument(name: "--talker-max-new-tokens",
                                            expected: "an integer in \(Self.maxNewTokensRange.lowerBound)...\(Self.maxNewTokensRange.upperBound)",
                                            actual: "\(maxNewTokens)")
        }
        guard sampling.minNewTokens >= 0, sampling.minNewTokens <= maxNewTokens else {
            throw OmniError.invalidArgument(name: "--talker-min-new-tokens",
                                            expected: "an integer in 0...\(maxNewTokens) (--talker-max-new-tokens)",
                                            actual: "\(sampling.minNewTokens)")
        }
        try sampling.validate()
    }
}
