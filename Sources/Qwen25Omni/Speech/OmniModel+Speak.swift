import OmniCore

/// How spoken output is made from the talker's codes: the voice, token2wav's ODE and its streaming windows.
public struct SpeakOptions: Sendable {
    /// A voice of the checkpoint's `spk_dict` (its bos token feeds the talker, its `cond` and `ref_mel` the DiT).
    public var speaker: String
    /// ODE time points (the reference's `num_steps`).
    public var steps: Int
    /// RK4 (the reference's) or Euler.
    public var solver: ODESolver
    /// Seed of the DiT's starting noise.
    public var seed: UInt64
    /// Chunking of the streamed DiT and vocoder.
    public var stream: Token2WavStreamOptions

    /// Options with the reference's defaults (Chelsie, 10 steps, RK4).
    public init(speaker: String = Token2Wav.defaultSpeaker, steps: Int = Token2Wav.defaultSteps, solver: ODESolver = .rk4,
                seed: UInt64 = 0, stream: Token2WavStreamOptions = Token2WavStreamOptions()) {
        self.speaker = speaker
        self.steps = steps
        self.solver = solver
        self.seed = seed
        self.stream = stream
    }
}

/// One thing spoken generation produced, in order of arrival: thinker tokens, then talker codes interleaved with
/// the PCM chunks token2wav makes from them as soon as they are final.
public enum SpokenEvent: Sendable {
    /// A thinker token and the text it completes.
    case token(GenerationEvent)
    /// A talker codec code.
    case code(Int)
    /// Final 24 kHz mono samples in [−1, 1], in order.
    case audio([Float])
}

/// What spoken generation returns: the thinker's ids, the talker's codes and how many samples were produced.
public struct SpokenResult: Sendable, Equatable {
    /// Thinker ids generated.
    public var tokens: [Int]
    /// Talker codes (ending code excluded).
    public var codes: [Int]
    /// 24 kHz samples produced over all `.audio` events.
    public var samples: Int
}

extension OmniModel {
    /// Thinker → talker → token2wav on `input`, streamed: PCM chunks come out while the talker is still producing
    /// codes (token2wav runs on block-aligned windows of codes with left and right context, BigVGAN on overlapping
    /// mel pieces). `talker.speakerBOS` is replaced by the voice's bos token.
    @discardableResult
    public func speak(input: ThinkerInput, thinker: GenerationOptions, talker: TalkerOptions, speech: SpeakOptions = SpeakOptions(),
                      onEvent: (SpokenEvent) throws -> Void) throws -> SpokenResult {
        let t2w = try Token2Wav(model: self)
        let voice = try t2w.speakers.voice(named: speech.speaker)
        var talker = talker
        talker.speakerBOS = voice.bosToken
        let streamer = try Token2WavStreamer(model: t2w, voice: voice, steps: speech.steps, solver: speech.solver,
                                             seed: speech.seed, options: speech.stream)
        var samples = 0
        func emit(_ pcm: [Float]) throws {
            guard !pcm.isEmpty else { return }
            samples += pcm.count
            try onEvent(.audio(pcm))
        }
        let result = try generateSpeech(input: input, thinker: thinker, talker: talker) { event in
            switch event {
            case let .token(e): try onEvent(.token(e))
            case let .code(c):
                try onEvent(.code(c))
                try emit(try streamer.push([c]))
            }
        }
        try emit(try streamer.finish())
        return SpokenResult(tokens: result.tokens, codes: result.codes, samples: samples)
    }
}
