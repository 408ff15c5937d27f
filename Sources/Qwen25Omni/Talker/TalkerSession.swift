import OmniCore

/// A conversation with the talker: the thinker's session machinery (`DecoderSession`) over `TalkerModel`.
public typealias TalkerSession = DecoderSession<TalkerModel>

extension DecoderSession where Model == TalkerModel {
    /// Runs the prefill rows: `embeds` and `hidden` [T, E] f32 (their sum is the thinker-side input), `codecIDs`
    /// added to the last `codecIDs.count` rows, at `positions` ([3][T]; nil: 0..<T). Returns the codec logits of
    /// the last row [vocab]. With a `chunk`, the rows go in consecutive chunks of at most that many, each appended
    /// to the KV cache with attention over the cache so far (the codec ids go with the rows they belong to).
    public func prefill(embeds: Tensor, hidden: Tensor, codecIDs: [Int], positions: [[Int64]]?,
                        chunk: Int? = nil) throws -> [Float] {
        let t = embeds.shape.rank == 2 ? embeds.shape[0] : 0
        try checkRows(embeds, hidden, rows: t)
        guard t >= 1, codecIDs.count <= t else {
            throw OmniError.invalidArgument(name: "talker prefill", expected: "at least one row and at most one codec id per row",
                                            actual: "\(t) rows, \(codecIDs.count) codec ids")
        }
        guard let n = chunk, n < t else {
            let r = try run(model.graph(.init(tokens: t, codecRows: codecIDs.count)), bucket: nil,
                            inputs: inputs(embeds, hidden, codecIDs), tokens: t, positions: positions)
            return try logits(r)
        }
        try Self.checkPrefillChunk(n, config: model.decoder.config)
        let start = nextPosition
        let rows = positions ?? Array(repeating: (0..<t).map { start + Int64($0) }, count: 3)
        guard rows.count == 3, rows.allSatisfy({ $0.count == t }) else {
            throw OmniError.invalidArgument(name: "position_ids", expected: "[3, \(t)]", actual: "\(rows.map(\.count))")
        }
        let firstCodec = t - codecIDs.count
        var last: GraphResult?
        for lo in stride(from: 0, to: t, by: n) {
            let range = lo..<min(lo + n, t)
            // The codec rows are the prompt's last rows, so in any chunk they are that chunk's last rows.
            let codes = Array(codecIDs[max(0, range.lowerBound - firstCodec)..<max(0, range.upperBound - firstCodec)])
            let bucket = "talker.prefill.\(range.count == n ? "chunk" : "last").codec\(codes.count)"
            last = try run(model.graph(.init(tokens: range.count, codecRows: codes.count)), bucket: bucket,
                           inputs: inputs(embeds.slice(range), hidden.slice(range), codes), tokens: range.count,
                           positions: rows.map { Array($0[range]) })
        }
        guard let last else { throw OmniError.unsupported(what: "talker prefill", reasons: ["no chunk ran"]) }
        return try logits(last)
    }

    /// Feeds the previous code with its reply-stream row (`embeds`, `hidden` [1, E]); returns the next codec
    /// logits [vocab]. The position continues after the last one.
    public func step(code: Int, embeds: Tensor, hidden: Tensor) throws -> [Float] {
        try checkRows(embeds, hidden, rows: 1)
        let graph = decodeGraph { model.graph(.init(tokens: 1, codecRows: 1)) }
        let r = try run(graph, bucket: "talker.decode", inputs: inputs(embeds, hidden, [code]), tokens: 1)
        return try logits(r)
    }

    private func inputs(_ embeds: Tensor, _ hidden: Tensor, _ codes: [Int]) -> [String: Tensor] {
        [TalkerModel.thinkerEmbeds: embeds, TalkerModel.thinkerHidden: hidden,
         TalkerModel.codecIDs: Tensor(int64: codes.map(Int64.init), shape: [codes.count])]
    }

    private func checkRows(_ embeds: Tensor, _ hidden: Tensor, rows: Int) throws {
        let e = model.config.embeddingSize
        for (t, name) in [(embeds, TalkerModel.thinkerEmbeds), (hidden, TalkerModel.thinkerHidden)]
        where t.shape != Shape([rows, e]) || t.dtype != .f32 {
            throw OmniError.invalidArgument(name: name, expected: "f32 [\(rows), \(e)]", actual: "\(t.dtype) \(t.shape)")
        }
    }

    private func logits(_ r: GraphResult) throws -> [Float] {
        guard let l = r[TalkerModel.logits] else {
            throw OmniError.unsupported(what: "talker step", reasons: ["graph produced no \(TalkerModel.logits)"])
        }
        return try l.floats()
    }
}
