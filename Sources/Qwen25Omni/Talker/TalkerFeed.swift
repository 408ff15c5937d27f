import OmniCore

/// What the talker needs from the thinker's run (OMNI-SPEC §7.2 step 1), recorded while the thinker generates:
/// the prompt's input embeddings and final hidden states, and for every reply token that was fed back (all but
/// the last) its embedding and final hidden state. Rows are f32 of the thinker's width D.
public final class ThinkerRecord: @unchecked Sendable {
    /// D.
    public let width: Int
    /// Prompt input embeddings [P, D] (towers' rows included, as fed to the thinker).
    public internal(set) var promptEmbeds: [Float] = []
    /// Prompt final-normed hidden states [P, D].
    public internal(set) var promptHidden: [Float] = []
    /// Embedding [D] of each fed reply token g_0 … g_{G−2}.
    public internal(set) var replyEmbeds: [[Float]] = []
    /// Final-normed hidden state [D] of each fed reply token.
    public internal(set) var replyHidden: [[Float]] = []

    /// An empty record for a thinker of width `width`.
    public init(width: Int) { self.width = width }
}

/// The talker's inputs, assembled from a `ThinkerRecord` exactly as `Qwen2_5OmniForConditionalGeneration.generate`
/// assembles them (OMNI-SPEC §7.2 steps 2–6). Rows keep the embedding and hidden parts apart; the talker graph
/// adds them (hidden + embedding, the reference's order).
///
/// - prefill (P + 2 rows): `[H0 + E0 ; emb(speaker BOS) ; R_0]`, where E0 has zero rows at the placeholders of
///   the media that were given; the codec PAD and BOS embeddings are added to the last two rows in the graph;
/// - reply stream (G rows): `[R_1 … R_{G−2}, emb(tts_text_end), emb(tts_text_pad)]`; decode step n ≥ 1 uses row
///   min(n − 1, G − 1), so the PAD row repeats forever. (The reference's per-row EOS fix-up changes nothing for one
///   sequence: whether or not the thinker ended on EOS, its rows G−2 and G−1 are already EOS and PAD.)
public struct TalkerFeed: Sendable {
    /// E.
    public let width: Int
    /// Prefill rows [P + 2, E]: embedding and hidden parts.
    public var prefillEmbeds: [Float], prefillHidden: [Float]
    /// Reply-stream rows [G, E]: embedding and hidden parts.
    public var streamEmbeds: [[Float]], streamHidden: [[Float]]
    /// `input_text_ids` for the talker's positions: prompt ids, speaker BOS, g_0.
    public var textIDs: [Int]
    /// The talker's `input_ids` (`[codec_mask] × P + [codec_pad, codec_bos]`): the repetition penalty's history.
    public var codecIDs: [Int]

    /// Assembles the feed.
    /// - Parameters:
    ///   - record: the thinker's rows; `tokens`: its generated ids g_0 … g_{G−1} (G ≥ 2).
    ///   - promptIDs: the thinker's prompt ids (P = `record.promptEmbeds.count / width`).
    ///   - zeroRows: prompt positions whose embedding row is zeroed (placeholders of the media given).
    ///   - speakerBOS, textEnd, textPad: thinker embeddings [D] of the speaker's BOS and `tts_text_end/pad`.
    public init(record: ThinkerRecord, tokens: [Int], promptIDs: [Int], zeroRows: Set<Int>, config: TalkerConfig,
                speakerBOSID: Int, speakerBOS: [Float], textEnd: [Float], textPad: [Float]) throws {
        let d = record.width, p = promptIDs.count
        guard tokens.count >= 2 else {
            throw OmniError.invalidArgument(name: "thinker reply", expected: "at least 2 generated tokens for the talker",
                                            actual: "\(tokens.count)")
        }
        guard record.promptEmbeds.count == p * d, record.promptHidden.count == p * d,
              record.replyEmbeds.count >= tokens.count - 1, record.replyHidden.count >= tokens.count - 1,
              [speakerBOS, textEnd, textPad].allSatisfy({ $0.count == d }) else {
            throw OmniError.invalidArgument(name: "thinker record", expected: "\(p) prompt rows and \(tokens.count - 1) reply rows of \(d)",
                                            actual: "\(record.promptEmbeds.count / max(d, 1)) prompt rows, \(record.replyEmbeds.count) reply rows")
        }
        width = d
        var e0 = record.promptEmbeds
        for r in zeroRows where r >= 0 && r < p { for j in 0..<d { e0[r * d + j] = 0 } }
        let zero = [Float](repeating: 0, count: d)
        prefillEmbeds = e0 + speakerBOS + record.replyEmbeds[0]
        prefillHidden = record.promptHidden + zero + record.replyHidden[0]
        let g = tokens.count
        streamEmbeds = Array(record.replyEmbeds[1..<(g - 1)]) + [textEnd, textPad]
        streamHidden = Array(record.replyHidden[1..<(g - 1)]) + [zero, zero]
        textIDs = promptIDs + [speakerBOSID, tokens[0]]
        codecIDs = Array(repeating: config.codecMaskTokenID, count: p) + [config.codecPadTokenID, config.codecStartTokenID]
    }

    /// Prefill rows.
    public var prefillRows: Int { prefillEmbeds.count / width }

    /// The reply-stream row decode step `n` (n ≥ 1) adds to the previous code's embedding.
    public func streamRow(step n: Int) -> (embeds: [Float], hidden: [Float]) {
        let i = min(max(n - 1, 0), streamEmbeds.count - 1)
        return (streamEmbeds[i], streamHidden[i])
    }
}
