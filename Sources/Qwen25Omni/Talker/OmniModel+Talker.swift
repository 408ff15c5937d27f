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
    /// Runs the thinker on `input` (text, audio, image or video, as `generate(input:)`), then the talker on its
    /// reply, calling `onEvent` with each thinker token and then each code as it is produced (synchronously).
    /// Mirrors `Qwen2_5OmniForConditionalGeneration.generate` up to token2wav (OMNI-SPEC §7.2).
    @discardableResult
    public func generateSpeech(input: ThinkerInput, thinker gen: GenerationOptions, talker opts: TalkerOptions,
                               onEvent: (SpeechEvent) throws -> Void = { _ in }) throws -> SpeechResult {
        let talker = try requireTalker()
        try opts.validate(thinkerVocab: config.thinker.text.vocabSize)
        let record = ThinkerRecord(width: config.thinker.text.hiddenSize)
        let tokens = try generate(input: input, options: gen, record: record) { try onEvent(.token($0)) }
        let codes = try talk(input: input, tokens: tokens, record: record, talker: talker, options: opts) {
            try onEvent(.code($0))
        }
        return SpeechResult(tokens: tokens, codes: codes)
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

    /// The talker's codes for a finished thinker run: prefill from the prompt and the first reply token, then one
    /// code per step until an ending code or `maxNewTokens` (OMNI-SPEC §7.2 steps 4–9).
    func talk(input: ThinkerInput, tokens: [Int], record: ThinkerRecord, talker: TalkerModel, options opts: TalkerOptions,
              onCode: (Int) throws -> Void) throws -> [Int] {
        let tc = talker.config
        let special = try inputEmbeddings(ThinkerInput(ids: [opts.speakerBOS, tc.textEndTokenID, tc.textPadTokenID])).floats()
        let d = config.thinker.text.hiddenSize
        let feed = try TalkerFeed(record: record, tokens: tokens, promptIDs: input.ids, zeroRows: talkerZeroRows(input), config: tc,
                                  speakerBOSID: opts.speakerBOS, speakerBOS: Array(special[0..<d]),
                                  textEnd: Array(special[d..<(2 * d)]), textPad: Array(special[(2 * d)...]))
        let positions = try talkerPositions(input, textIDs: feed.textIDs, talker: tc)
        let session = try TalkerSession(model: talker, executor: executor, weights: weights,
                                        capacity: feed.prefillRows + opts.maxNewTokens)
        defer { recordAttentionLog(session.attentionLog) }
        let e = feed.width, rows = feed.prefillRows
        var logits = try session.prefill(embeds: Tensor(feed.prefillEmbeds, shape: [rows, e]),
                                         hidden: Tensor(feed.prefillHidden, shape: [rows, e]),
                                         codecIDs: [tc.codecPadTokenID, tc.codecStartTokenID], positions: positions,
                                         chunk: opts.prefillChunk)
        var sampler = Sampler(options: opts.sampling)
        let eos = opts.eos ?? [tc.codecPadTokenID, tc.codecEndTokenID]
        var history = feed.codecIDs
        var codes: [Int] = []
        var generated = 0
        while generated < opts.maxNewTokens {
            if self.options.isCancelled() { throw OmniError.cancelled }
            let code = sampler.next(logits: logits, history: history, generatedCount: generated, eos: eos,
                                    suppressed: [tc.codecStartTokenID])
            generated += 1
            if eos.contains(code) { break }
            codes.append(code)
            history.append(code)
            try onCode(code)
            if generated == opts.maxNewTokens { break }
            let row = feed.streamRow(step: generated)
            logits = try session.step(code: code, embeds: Tensor(row.embeds, shape: [1, e]),
                                      hidden: Tensor(row.hidden, shape: [1, e]))
        }
        return codes
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
