import OmniCore

/// The talker's generation fed as the thinker's reply arrives (OMNI-SPEC §7.2 steps 4–9, the rows `TalkerFeed`
/// describes): the prefill needs the prompt's rows and the first reply token's (g_0, and R_0 = its embedding and
/// hidden state, recorded when g_1 is produced); decode step n adds reply row R_n, which is final once the thinker
/// has produced g_{n+1}. After the thinker's last token g_{G−1} come `tts_text_end` (step G − 1) and then
/// `tts_text_pad` forever, as in the reference. `advance` runs as far as the reply known so far allows, so codes
/// (and audio) can come before the thinker has finished; the codes are the same as after a finished thinker run.
final class TalkerRun {
    let model: OmniModel
    let talker: TalkerModel
    let input: ThinkerInput
    let record: ThinkerRecord
    let options: TalkerOptions
    private let speakerBOS: [Float], textEnd: [Float], textPad: [Float]
    private var session: TalkerSession?
    private var sampler: Sampler
    private var history: [Int] = []
    private var logits: [Float] = []
    /// A code sampled and reported whose decode step waits for its reply row.
    private var pending: Int?
    private var generated = 0
    private(set) var codes: [Int] = []
    private(set) var done = false

    init(model: OmniModel, input: ThinkerInput, record: ThinkerRecord, talker: TalkerModel, options: TalkerOptions) throws {
        self.model = model
        self.talker = talker
        self.input = input
        self.record = record
        self.options = options
        let tc = talker.config, d = record.width
        let special = try model.inputEmbeddings(ThinkerInput(ids: [options.speakerBOS, tc.textEndTokenID, tc.textPadTokenID])).floats()
        speakerBOS = Array(special[0..<d])
        textEnd = Array(special[d..<(2 * d)])
        textPad = Array(special[(2 * d)...])
        sampler = Sampler(options: options.sampling)
    }

    /// Reply row n (embedding and hidden parts) for the thinker's `tokens` so far; nil while it is not final yet.
    private func row(_ n: Int, tokens: [Int], final: Bool) -> (embeds: [Float], hidden: [Float])? {
        let g = tokens.count, zero = [Float](repeating: 0, count: record.width)
        if final {
            if n <= g - 2 { return (record.replyEmbeds[n], record.replyHidden[n]) }
            return (n == g - 1 ? textEnd : textPad, zero)
        }
        guard n <= g - 2, n < record.replyEmbeds.count else { return nil }
        return (record.replyEmbeds[n], record.replyHidden[n])
    }

    /// Generates every code the thinker's `tokens` so far allow (all of them when `final`), reporting each.
    func advance(tokens: [Int], final: Bool, onCode: (Int) throws -> Void) throws {
        if done { return }
        if session == nil {
            guard tokens.count >= 2, !record.replyEmbeds.isEmpty else {
                if final {
                    throw OmniError.invalidArgument(name: "thinker reply", expected: "at least 2 generated tokens for the talker",
                                                    actual: "\(tokens.count)")
                }
                return
            }
            try prefill(firstToken: tokens[0])
        }
        let tc = talker.config, e = record.width
        let eos = options.eos ?? [tc.codecPadTokenID, tc.codecEndTokenID]
        while true {
            if let code = pending {
                guard let r = row(generated, tokens: tokens, final: final) else { return }
                if model.options.isCancelled() { throw OmniError.cancelled }
                logits = try session!.step(code: code, embeds: Tensor(r.embeds, shape: [1, e]), hidden: Tensor(r.hidden, shape: [1, e]))
                pending = nil
            }
            guard generated < options.maxNewTokens else { done = true; return }
            if model.options.isCancelled() { throw OmniError.cancelled }
            let code = sampler.next(logits: logits, history: history, generatedCount: generated, eos: eos,
                                    suppressed: [tc.codecStartTokenID])
            generated += 1
            if eos.contains(code) { done = true; return }
            codes.append(code)
            history.append(code)
            try onCode(code)
            if generated == options.maxNewTokens { done = true; return }
            pending = code
        }
    }

    /// Prefill rows `[H0 + E0 ; emb(speaker BOS) ; R_0]` (E0 zero at the given media's placeholders), the codec PAD
    /// and BOS on the last two rows, at the talker's own positions.
    private func prefill(firstToken: Int) throws {
        let tc = talker.config, d = record.width, p = input.ids.count
        guard record.promptEmbeds.count == p * d, record.promptHidden.count == p * d,
              [speakerBOS, textEnd, textPad].allSatisfy({ $0.count == d }) else {
            throw OmniError.invalidArgument(name: "thinker record", expected: "\(p) prompt rows of \(d)",
                                            actual: "\(record.promptEmbeds.count / max(d, 1)) prompt rows")
        }
        var e0 = record.promptEmbeds
        for r in model.talkerZeroRows(input) where r >= 0 && r < p { for j in 0..<d { e0[r * d + j] = 0 } }
        let zero = [Float](repeating: 0, count: d)
        let embeds = e0 + speakerBOS + record.replyEmbeds[0], hidden = record.promptHidden + zero + record.replyHidden[0]
        let rows = p + 2
        let positions = try model.talkerPositions(input, textIDs: input.ids + [options.speakerBOS, firstToken], talker: tc)
        let session = try TalkerSession(model: talker, executor: model.executor, weights: model.weights,
                                        capacity: rows + options.maxNewTokens)
        self.session = session
        history = Array(repeating: tc.codecMaskTokenID, count: p) + [tc.codecPadTokenID, tc.codecStartTokenID]
        logits = try session.prefill(embeds: Tensor(embeds, shape: [rows, d]), hidden: Tensor(hidden, shape: [rows, d]),
                                     codecIDs: [tc.codecPadTokenID, tc.codecStartTokenID], positions: positions,
                                     chunk: options.prefillChunk)
    }

    /// The talker session's attention log (empty before the prefill).
    var attentionLog: [String] { session?.attentionLog ?? [] }
}
