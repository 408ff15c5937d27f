import OmniCore

/// Chunked prefill (issue 14): the prompt goes through the thinker in consecutive chunks of at most `chunk` rows,
/// each appended to the KV cache with causal attention over the cache so far (the rows already there are the
/// key offset), so activations are planned for a chunk, not for the prompt. The result equals one-shot prefill.
extension DecoderSession {
    /// Throws unless `chunk` is nil or within 1 … the model's positions (`max_position_embeddings`), naming
    /// `argument` (`--prefill-chunk`, `prefillChunk`) and the range.
    public static func checkPrefillChunk(_ chunk: Int?, config: DecoderConfig,
                                         argument: String = "prefillChunk") throws {
        guard let n = chunk else { return }
        let positions = config.maxPositionEmbeddings
        guard n >= 1, n <= positions else {
            throw OmniError.invalidArgument(name: argument, expected: "1 … \(positions) rows (max_position_embeddings)",
                                            actual: "\(n)")
        }
    }
}

extension DecoderSession where Model == ThinkerTextModel {
    /// Runs the prompt (`ids` [T] or `embeddings` [T, D]) at `positions` ([3][T] M-RoPE rows; nil: continuing
    /// after the cache) in chunks of at most `chunk` rows (nil: one shot). A chunk may split an audio, image or
    /// video span anywhere: the embeddings already hold the towers' rows and the positions travel with them.
    /// Returns `thinker.logits` of the last row [1, vocab] (every row's [T, vocab] when `allLogits`),
    /// `thinker.last_hidden` [T, D] (unless `hidden` is false) and what `keep` names, each concatenated over the chunks.
    @discardableResult
    public func prefill(ids: [Int]? = nil, embeddings: Tensor? = nil, positions: [[Int64]]? = nil,
                        chunk: Int?, allLogits: Bool = false, keep: Set<String> = [], hidden: Bool = true) throws -> GraphResult {
        let t = ids?.count ?? embeddings?.shape[0] ?? 0
        guard let n = chunk, n < t else {
            return try prefill(ids: ids, embeddings: embeddings, positions: positions, allLogits: allLogits, keep: keep,
                               hidden: hidden)
        }
        try Self.checkPrefillChunk(n, config: model.config)
        let start = nextPosition
        let rows = positions ?? Array(repeating: (0..<t).map { start + Int64($0) }, count: 3)
        guard rows.count == 3, rows.allSatisfy({ $0.count == t }) else {
            throw OmniError.invalidArgument(name: "position_ids", expected: "[3, \(t)]", actual: "\(rows.map(\.count))")
        }
        var parts: [GraphResult] = []
        for lo in stride(from: 0, to: t, by: n) {
            let range = lo..<min(lo + n, t)
            let io = ThinkerTextModel.Inputs(tokens: range.count, fromEmbeddings: embeddings != nil,
                                             lastLogitsOnly: !allLogits, returnsHidden: hidden)
            var inputs: [String: Tensor] = [:]
            if let e = embeddings { inputs[ThinkerTextModel.inputsEmbeds] = e.slice(range) }
            if let ids {
                inputs[ThinkerTextModel.inputIDs] = Tensor(int64: ids[range].map(Int64.init), shape: [range.count])
            }
            // Full chunks share one plan; the shorter last chunk has its own bucket, so neither evicts the other.
            let kind = range.count == n ? "chunk" : "last"
            let bucket = (["thinker.prefill.\(kind)" + (hidden ? "" : ".nohidden")] + keep.sorted()).joined(separator: "+")
            parts.append(try run(model.graph(io), bucket: bucket, inputs: inputs, tokens: range.count,
                                 positions: rows.map { Array($0[range]) }, keep: keep))
        }
        return try Self.joined(parts, allLogits: allLogits)
    }

    /// The chunks' results as one: rows of every value concatenated along dimension 0, except the last-row
    /// logits (when not `allLogits`), which come from the last chunk.
    static func joined(_ parts: [GraphResult], allLogits: Bool) throws -> GraphResult {
        guard let last = parts.last else { return GraphResult(values: [:], attentionLog: []) }
        var values: [String: Tensor] = [:]
        for name in last.values.keys {
            if name == ThinkerTextModel.logits && !allLogits { values[name] = last[name]; continue }
            var floats: [Float] = [], rows = 0
            for p in parts {
                let v = try p[name].orThrow(name)
                rows += v.shape[0]
                floats += try v.floats()
            }
            let inner = try last[name].orThrow(name).shape.dims.dropFirst()
            values[name] = Tensor(floats, shape: Shape([rows] + inner))
        }
        return GraphResult(values: values, attentionLog: parts.flatMap(\.attentionLog))
    }
}
