import OmniCore

/// One thing speech generation produced, in order: the thinker's tokens (with their text) as they come, then the
/// talker's codec codes as they come (the ending code is not reported). token2wav consumes the codes in chunks.
public enum SpeechEvent: Sendable, Equatable {
    /// A thinker token and the text it completes (`token` −1 carries the detokenizer's tail).
    case token(GenerationEvent)
    /// A talker codec code.
    case code(Int)
}

/// What speech generation returns: the thinker's generated ids and the talker's codes (before the first ending
/// code), as `Qwen2_5OmniForConditionalGeneration.generate` passes them to token2wav.
public struct SpeechResult: Sendable, Equatable {
    /// Thinker ids generated (EOS included if produced).
    public var tokens: [Int]
    /// Talker codes, ending code excluded.
    public var codes: [Int]
}

extension OmniModel {
    /// Runs the thinker on `input` (text, audio, image or video, as `generate(input:)`) and the talker on its
    /// reply, calling `onEvent` with each thinker token and each code as it is produced (synchronously): the codes
    /// after the last token, or with `talker.interleaved` as soon as the reply rows they need exist.
    /// Mirrors `Qwen2_5OmniForConditionalGeneration.generate` up to token2wav (OMNI-SPEC §7.2).
    @discardableResult
    public func generateSpeech(input: ThinkerInput, thinker gen: GenerationOptions, talker opts: TalkerOptions,
                               onEvent: (SpeechEvent) throws -> Void = { _ in }) throws -> SpeechResult {
        let talker = try requireTalker()
        try opts.validate(thinkerVocab: config.thinker.text.vocabSize)
        let record = ThinkerRecord(width: config.thinker.text.hiddenSize)
        let run = try TalkerRun(model: self, input: input, record: record, talker: talker, options: opts)
        defer { recordAttentionLog(run.attentionLog) }
        var reply: [Int] = []
        let tokens = try generate(input: input, options: gen, record: record) { event in
            try onEvent(.token(event))
            guard opts.interleaved, event.token >= 0 else { return }
            reply.append(event.token)
            try run.advance(tokens: reply, final: false) { try onEvent(.code($0)) }
        }
        try run.advance(tokens: tokens, final: true) { try onEvent(.code($0)) }
        return SpeechResult(tokens: tokens, codes: run.codes)
    }

    /// Speech generation for one user turn (chat template, default system prompt) as an `AsyncSequence`,
    /// computed on a background task. Cancelling the consuming task stops generation at the next token or code.
    public func generateSpeech(prompt: String, thinker gen: GenerationOptions = GenerationOptions(),
                               talker opts: TalkerOptions) -> AsyncThrowingStream<SpeechEvent, Error> {
        let input = ThinkerInput(ids: chatPrompt(prompt))
        return .detached { [self] yield in try self.generateSpeech(input: input, thinker: gen, talker: opts, onEvent: yield) }
    }

    /// The talker, or a typed error saying why there is none.
    func requireTalker() throws -> TalkerModel {
        guard let talker else {
            let why = config.talker == nil ? "config.json has no talker_config (or audio output is off in it)"
                : !options.enableAudioOutput ? "the model was loaded with enableAudioOutput = false"
                : "\(directory.folder.path) has no talker.* weights"
            throw OmniError.unsupported(what: "speech output", reasons: [why])
        }
        return talker
    }

    /// Prompt rows whose embedding the talker sees as zero: the placeholders of each kind of media that was given
    /// (`<|AUDIO|>` with audio features, `<|IMAGE|>` with pixels, `<|VIDEO|>` with video pixels; OMNI-SPEC §7.2 step 2).
    func talkerZeroRows(_ input: ThinkerInput) -> Set<Int> {
        let th = config.thinker
        var rows = Set<Int>()
        for (given, id) in [(input.audioFeatures != nil, th.audioTokenID), (input.pixelValues != nil, th.imageTokenID),
                            (input.pixelValuesVideos != nil, th.videoTokenID)] where given {
            rows.formUnion(input.ids.indices.filter { input.ids[$0] == id })
        }
        return rows
    }

    /// The talker's prefill positions: its own `get_rope_index` over `textIDs` (prompt, speaker BOS, g_0) with the
    /// prompt's media; 0..<n for text alone (OMNI-SPEC §7.2 step 7). Decoding continues at max + 1.
    func talkerPositions(_ input: ThinkerInput, textIDs: [Int], talker: TalkerConfig) throws -> [[Int64]] {
        guard input.hasFeatures else { return Array(repeating: (0..<Int64(textIDs.count)).map { $0 }, count: 3) }
        var media = RopeIndex.Media(imageGrids: input.imageGrids, videoGrids: input.videoGrids,
                                    secondsPerGrid: input.secondsPerGrid, useAudioInVideo: input.useAudioInVideo)
        media.audioFrames = try audioFrames(input)
        return try RopeIndex(config: talker.ropeIndexConfig(thinker: config.thinker)).positions(ids: textIDs, media: media)
    }
}
