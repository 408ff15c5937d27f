import OmniCore

/// A conversation with the thinker's text decoder: a KV cache, the next M-RoPE position, and the graphs for
/// prefill and decode (each planned once by the executor per shape bucket).
public final class ThinkerSession: @unchecked Sendable {
    public let model: ThinkerTextModel
    public let executor: any GraphExecutor
    public let weights: any WeightProvider
    /// Keys and values of every layer, preallocated for `capacity` tokens.
    public let cache: KVCache
    /// Position the next token gets on all three M-RoPE rows (prompt length + rope delta for multimodal input).
    public private(set) var nextPosition: Int64 = 0
    /// Attention backend decisions logged by the executor (fallbacks and why).
    public private(set) var attentionLog: [String] = []
    private var decodeGraph: Graph?

    /// A session with room for `capacity` tokens (prompt + generated).
    public init(model: ThinkerTextModel, executor: any GraphExecutor, weights: any WeightProvider, capacity: Int) throws {
        self.model = model
        self.executor = executor
        self.weights = weights
        let c = model.config
        self.cache = try KVCache(slots: c.layers, capacity: capacity, rowWidth: c.kvHeads * c.headDim,
                                 device: executor.device)
    }

    /// Runs the prompt; `positions` are the [3][T] M-RoPE rows (nil: 0..<T on every row, continuing after the
    /// cache). Returns the logits of the last position [vocab] (and all rows when `allLogits`).
    @discardableResult
    public func prefill(ids: [Int]? = nil, embeddings: Tensor? = nil, positions: [[Int64]]? = nil,
                        allLogits: Bool = false, keep: Set<String> = []) throws -> GraphResult {
        let t = ids?.count ?? embeddings?.shape[0] ?? 0
        guard t > 0 else { throw OmniError.invalidArgument(name: "input_ids", expected: "at least one token", actual: "none") }
        let pos = positions ?? Array(repeating: (0..<t).map { nextPosition + Int64($0) }, count: 3)
        guard pos.count == 3, pos.allSatisfy({ $0.count == t }) else {
            throw OmniError.invalidArgument(name: "position_ids", expected: "[3, \(t)]", actual: "\(pos.map(\.count))")
        }
        let io = ThinkerTextModel.Inputs(tokens: t, fromEmbeddings: embeddings != nil, lastLogitsOnly: !allLogits)
        var inputs = [ThinkerTextModel.positionIDs: Tensor(int64: pos.flatMap { $0 }, shape: [3, t])]
        if let e = embeddings { inputs[ThinkerTextModel.inputsEmbeds] = e }
        if let ids { inputs[ThinkerTextModel.inputIDs] = Tensor(int64: ids.map(Int64.init), shape: [t]) }
        let r = try executor.run(model.graph(io), bucket: nil, inputs: inputs, weights: weights, cache: cache, keep: keep)
        attentionLog += r.attentionLog
        nextPosition = (pos.flatMap { $0 }.max() ?? -1) + 1
        return r
    }

    /// Feeds one token; returns the next-token logits [vocab].
    public func step(_ id: Int) throws -> [Float] {
        if decodeGraph == nil { decodeGraph = model.graph(.init(tokens: 1, lastLogitsOnly: true)) }
        let p = nextPosition
        let inputs = [ThinkerTextModel.inputIDs: Tensor(int64: [Int64(id)], shape: [1]),
                      ThinkerTextModel.positionIDs: Tensor(int64: [p, p, p], shape: [3, 1])]
        let r = try executor.run(decodeGraph!, bucket: "thinker.decode", inputs: inputs, weights: weights,
                                 cache: cache, keep: [])
        nextPosition += 1
        guard let logits = r[ThinkerTextModel.logits] else {
            throw OmniError.unsupported(what: "decode step", reasons: ["graph produced no logits"])
        }
        return try logits.floats()
    }
}
