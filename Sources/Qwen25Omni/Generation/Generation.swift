import OmniCore

/// One generated token and the text it completes (may be empty while a UTF-8 sequence is incomplete).
public struct GenerationEvent: Sendable, Equatable {
    public var token: Int
    public var text: String
}

/// What to generate.
public struct GenerationOptions: Sendable {
    public var maxNewTokens: Int
    public var sampling: SamplingOptions
    /// Stop tokens (nil: the model's `<|im_end|>`).
    public var eos: Set<Int>?
    /// Prefill the prompt in chunks of at most this many rows, each appended to the KV cache (nil: in one
    /// step). Bounds prefill's activations by the chunk instead of the prompt; 1 … max_position_embeddings.
    public var prefillChunk: Int?
    public init(maxNewTokens: Int = 128, sampling: SamplingOptions = SamplingOptions(), eos: Set<Int>? = nil,
                prefillChunk: Int? = nil) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.eos = eos
        self.prefillChunk = prefillChunk
    }
}

extension OmniModel {
    /// Generates from prompt ids, synchronously, calling `onToken` for each token as it is produced.
    /// Returns every generated token (EOS included if produced). Cancellation via `options.isCancelled`.
    @discardableResult
    public func generate(ids: [Int], options gen: GenerationOptions,
                         onToken: (GenerationEvent) throws -> Void = { _ in }) throws -> [Int] {
        try generate(input: ThinkerInput(ids: ids), options: gen, onToken: onToken)
    }

    /// Generates from processor outputs (ids with expanded placeholders, and the features for them).
    @discardableResult
    public func generate(input: ThinkerInput, options gen: GenerationOptions,
                         onToken: (GenerationEvent) throws -> Void = { _ in }) throws -> [Int] {
        try generate(input: input, options: gen, record: nil, onToken: onToken)
    }

    /// The thinker's generation loop; with a `record`, also keeps what the talker needs (the prompt's
    /// embeddings and final hidden states, and those of every reply token fed back).
    func generate(input: ThinkerInput, options gen: GenerationOptions, record: ThinkerRecord?,
                  onToken: (GenerationEvent) throws -> Void) throws -> [Int] {
        let ids = input.ids
        // The model's positions are checked before the KV cache is reserved (no 5 GB for 10^7 text tokens). A media
        // prompt is bounded by its largest M-RoPE position, not its length (a minute of video is ~45k tokens at
        // positions below 2k); its cache grows with the features the caller already holds.
        let mediaPositions = try checkPositions(input, maxNewTokens: gen.maxNewTokens)
        try ThinkerSession.checkPrefillChunk(gen.prefillChunk, config: config.thinker.text)
        let session = try newSession(capacity: ids.count + gen.maxNewTokens)
        var sampler = Sampler(options: gen.sampling)
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        let eos = gen.eos ?? eosTokenIDs
        var history = ids
        var out: [Int] = []
        guard gen.maxNewTokens > 0 else { return [] }
        let embeds = ThinkerTextModel.embeds, hidden = ThinkerTextModel.lastHidden
        let features = input.hasFeatures ? try inputEmbeddings(input) : nil
        let chunk = gen.prefillChunk
        // The prompt's final hidden states come back only for the talker (a record).
        let first = try features.map { try session.prefill(embeddings: $0, positions: mediaPositions, chunk: chunk,
                                                           hidden: record != nil) }
            ?? session.prefill(ids: ids, chunk: chunk, keep: record == nil ? [] : [embeds], hidden: record != nil)
        if let record {
            record.promptEmbeds = try (features ?? first[embeds].orThrow(embeds)).floats()
            record.promptHidden = try first[hidden].orThrow(hidden).floats()
        }
        var logits = try first[ThinkerTextModel.logits].orThrow(ThinkerTextModel.logits).floats()
        while out.count < gen.maxNewTokens {
            if self.options.isCancelled() { throw OmniError.cancelled }
            let next = sampler.next(logits: logits, history: history, generatedCount: out.count, eos: eos)
            out.append(next)
            history.append(next)
            try onToken(GenerationEvent(token: next, text: detok.push(next)))
            if eos.contains(next) || out.count == gen.maxNewTokens { break }
            if let record {
                let r = try session.stepResult(next, keep: [embeds])
                record.replyEmbeds.append(try r[embeds].orThrow(embeds).floats())
                record.replyHidden.append(try r[hidden].orThrow(hidden).floats())
                logits = try r[ThinkerTextModel.logits].orThrow(ThinkerTextModel.logits).floats()
            } else {
                logits = try session.step(next)
            }
        }
        let tail = detok.finish()
        if !tail.isEmpty { try onToken(GenerationEvent(token: -1, text: tail)) }
        recordAttentionLog(session.attentionLog)
        return out
    }

    /// Generation as an `AsyncSequence` of tokens and text: a `generateBatched` session, so streams consumed at the
    /// same time share batched decode steps. Cancelling the consuming task (or dropping the stream) stops generation
    /// at the next token and frees the session.
    public func generate(prompt: String, options gen: GenerationOptions = GenerationOptions())
        -> AsyncThrowingStream<GenerationEvent, Error> {
        let ids = chatPrompt(prompt)
        return AsyncThrowingStream { continuation in
            let task = Task { [self] in
                do {
                    try await self.generateBatched(ids: ids, options: gen) { continuation.yield($0) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension AsyncThrowingStream where Failure == Error, Element: Sendable {
    /// A stream fed by `body` on a detached task: each `yield` hands one element to the consumer; a consumer that
    /// stops listening cancels the task, and `body` then stops at its next yield with `OmniError.cancelled`.
    static func detached(_ body: @escaping @Sendable (_ yield: (Element) throws -> Void) throws -> Void) -> Self {
        AsyncThrowingStream { continuation in
            let task = Task.detached {
                do {
                    try body { element in
                        if Task.isCancelled { throw OmniError.cancelled }
                        continuation.yield(element)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension Optional where Wrapped == Tensor {
    /// The tensor, or a typed error naming the graph value that was missing.
    func orThrow(_ name: String) throws -> Tensor {
        guard let t = self else { throw OmniError.unsupported(what: "running the graph", reasons: ["it produced no \(name)"]) }
        return t
    }
}

extension OmniModel {
    /// Generates from prompt ids as one of many concurrent sessions on this model: waits for admission (at most
    /// `options.maxBatch` sessions, their KV caches within the budget), prefills on the decoder's worker, and
    /// decodes in batched steps shared with every other session decoding at the same time (`decoder`). Greedy
    /// output is the same as `generate(ids:options:)` alone. Cancelling the task stops at the next token with
    /// `OmniError.cancelled` (or while waiting for admission) and frees the session's KV cache.
    @discardableResult
    public func generateBatched(ids: [Int], options gen: GenerationOptions,
                                onToken: @Sendable (GenerationEvent) throws -> Void = { _ in }) async throws -> [Int] {
        try CheckpointLimits.checkPositions(promptTokens: ids.count, maxNewTokens: gen.maxNewTokens, config: config)
        try ThinkerSession.checkPrefillChunk(gen.prefillChunk, config: config.thinker.text)
        guard gen.maxNewTokens > 0 else { return [] }
        guard !ids.isEmpty else { throw OmniError.invalidArgument(name: "input_ids", expected: "at least one token", actual: "none") }
        let c = config.thinker.text, capacity = ids.count + gen.maxNewTokens
        let admission = try await decoder.admit(kvBytes: c.layers * 2 * c.kvHeads * c.headDim * capacity * 4)
        defer { admission.release() }
        let session = try newSession(capacity: capacity)
        defer { recordAttentionLog(session.attentionLog) }
        let chunk = gen.prefillChunk
        let first = try await decoder.perform { try session.prefill(ids: ids, chunk: chunk) }
        var logits = try first[ThinkerTextModel.logits].orThrow(ThinkerTextModel.logits).floats()
        var sampler = Sampler(options: gen.sampling)
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        let eos = gen.eos ?? eosTokenIDs
        var history = ids, out: [Int] = []
        decoder.beginDecoding()
        defer { decoder.endDecoding() }
        while out.count < gen.maxNewTokens {
            if Task.isCancelled || options.isCancelled() { throw OmniError.cancelled }
            let next = sampler.next(logits: logits, history: history, generatedCount: out.count, eos: eos)
            out.append(next)
            history.append(next)
            try onToken(GenerationEvent(token: next, text: detok.push(next)))
            if eos.contains(next) || out.count == gen.maxNewTokens { break }
            logits = try await decoder.step(session, token: next)
        }
        let tail = detok.finish()
        if !tail.isEmpty { try onToken(GenerationEvent(token: -1, text: tail)) }
        return out
    }
}
