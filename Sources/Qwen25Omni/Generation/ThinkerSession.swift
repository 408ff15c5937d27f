import Foundation
import OmniCore

/// A model a `DecoderSession` can drive: it owns a `DecoderStack` (whose config sizes the KV cache, one slot per
/// layer) and feeds its graphs [3, T] M-RoPE positions under `positionIDs`.
public protocol SessionModel: Sendable {
    /// The decoder whose layers the session's cache serves.
    var decoder: DecoderStack { get }
    /// Input name of the [3, T] i64 positions.
    static var positionIDs: String { get }
}

/// A conversation with one decoder (the thinker's text model, or the talker): a KV cache, the next M-RoPE
/// position, and the graphs for prefill and decode (each planned once by the executor per shape bucket).
/// The model-specific ways to feed it live in extensions (`ThinkerSession.prefill(ids:)`, `TalkerSession.step`).
///
/// Sendable: its mutable state (next position, log, decode graph) is behind `lock`, which every run holds for its
/// whole length, so calls from several threads are serialized per session (and by the executor across sessions).
/// The session's KV cache is freed when the last reference to the session goes.
public final class DecoderSession<Model: SessionModel>: @unchecked Sendable {
    /// The model whose graphs this session runs.
    public let model: Model
    /// Runs the graphs (shared with other sessions; it caches one plan per bucket).
    public let executor: any GraphExecutor
    /// The model's weights (shared, read-only).
    public let weights: any WeightProvider
    /// Keys and values of every layer, preallocated for `capacity` tokens.
    public let cache: KVCache
    /// Held by every run and by every read or write of the state below.
    let lock = NSLock()
    private var position: Int64 = 0
    private var log: [String] = []
    private var decodeGraph: Graph?

    /// Position the next token gets on all three M-RoPE rows (prompt length + rope delta for multimodal input).
    public var nextPosition: Int64 { lock.withLock { position } }
    /// Attention backend decisions logged by the executor (fallbacks and why).
    public var attentionLog: [String] { lock.withLock { log } }

    /// Called with `lock` held by a batched step that ran this session's row: the next token goes one further.
    func advanceLocked(log entries: [String]) {
        position += 1
        log += entries
    }
    /// The next position, for a batched step that holds `lock`.
    var nextPositionLocked: Int64 { position }

    /// A session with room for `capacity` tokens (prompt + generated).
    public init(model: Model, executor: any GraphExecutor, weights: any WeightProvider, capacity: Int) throws {
        self.model = model
        self.executor = executor
        self.weights = weights
        let c = model.decoder.config
        self.cache = try KVCache(slots: c.layers, capacity: capacity, rowWidth: c.kvHeads * c.headDim,
                                 device: executor.device, dtype: executor.cacheDType)
    }

    /// Runs `graph` over `tokens` new rows at `positions` ([3][T]; nil: continuing from `nextPosition` on every
    /// row), appending to the cache; the next token then gets max(positions) + 1.
    public func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], tokens t: Int,
                    positions: [[Int64]]? = nil, keep: Set<String> = []) throws -> GraphResult {
        lock.lock(); defer { lock.unlock() }
        let pos = positions ?? Array(repeating: (0..<t).map { position + Int64($0) }, count: 3)
        guard pos.count == 3, pos.allSatisfy({ $0.count == t }) else {
            throw OmniError.invalidArgument(name: "position_ids", expected: "[3, \(t)]", actual: "\(pos.map(\.count))")
        }
        var inputs = inputs
        inputs[Model.positionIDs] = Tensor(int64: pos.flatMap { $0 }, shape: [3, t])
        let r = try executor.run(graph, bucket: bucket, inputs: inputs, weights: weights, cache: cache, keep: keep)
        log += r.attentionLog
        position = (pos.flatMap { $0 }.max() ?? -1) + 1
        return r
    }

    /// The one-token decode graph, built by `make` on first use and kept for the session.
    public func decodeGraph(_ make: () -> Graph) -> Graph {
        lock.withLock {
            if let g = decodeGraph { return g }
            let g = make()
            decodeGraph = g
            return g
        }
    }
}

extension ThinkerTextModel: SessionModel {}

/// A conversation with the thinker's text decoder.
public typealias ThinkerSession = DecoderSession<ThinkerTextModel>

extension DecoderSession where Model == ThinkerTextModel {
    /// Runs the prompt; `positions` are the [3][T] M-RoPE rows (nil: 0..<T on every row, continuing after the
    /// cache). Returns the logits of the last position [vocab] (and all rows when `allLogits`), and the final hidden
    /// states [T, D] unless `hidden` is false (then they are not copied back: [T, D] f32 is 117 MB at 8192 tokens).
    @discardableResult
    public func prefill(ids: [Int]? = nil, embeddings: Tensor? = nil, positions: [[Int64]]? = nil,
                        allLogits: Bool = false, keep: Set<String> = [], hidden: Bool = true) throws -> GraphResult {
        let t = ids?.count ?? embeddings?.shape[0] ?? 0
        guard t > 0 else { throw OmniError.invalidArgument(name: "input_ids", expected: "at least one token", actual: "none") }
        let io = ThinkerTextModel.Inputs(tokens: t, fromEmbeddings: embeddings != nil, lastLogitsOnly: !allLogits,
                                         returnsHidden: hidden)
        var inputs: [String: Tensor] = [:]
        if let e = embeddings { inputs[ThinkerTextModel.inputsEmbeds] = e }
        if let ids { inputs[ThinkerTextModel.inputIDs] = Tensor(int64: ids.map(Int64.init), shape: [t]) }
        return try run(model.graph(io), bucket: nil, inputs: inputs, tokens: t, positions: positions, keep: keep)
    }

    /// Feeds one token; returns the next-token logits [vocab].
    public func step(_ id: Int) throws -> [Float] {
        let r = try stepResult(id)
        guard let logits = r[ThinkerTextModel.logits] else {
            throw OmniError.unsupported(what: "decode step", reasons: ["graph produced no logits"])
        }
        return try logits.floats()
    }

    /// Feeds one token; returns the whole result: `thinker.logits` [1, vocab], `thinker.last_hidden` [1, D] and
    /// whatever `keep` names (`thinker.embeds` [1, D]: the token's embedding).
    public func stepResult(_ id: Int, keep: Set<String> = []) throws -> GraphResult {
        let graph = decodeGraph { model.graph(.init(tokens: 1, lastLogitsOnly: true)) }
        // The plan cached under a bucket frees what it was not asked to keep, so each `keep` gets its own bucket.
        let bucket = keep.isEmpty ? "thinker.decode" : "thinker.decode+" + keep.sorted().joined(separator: ",")
        return try run(graph, bucket: bucket,
                       inputs: [ThinkerTextModel.inputIDs: Tensor(int64: [Int64(id)], shape: [1])], tokens: 1, keep: keep)
    }
}
