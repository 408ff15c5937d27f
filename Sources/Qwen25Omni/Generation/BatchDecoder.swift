import Foundation
import OmniCore

/// Runs the decode steps of many thinker sessions together: steps that are waiting at the same time become one
/// batched graph run (`ThinkerTextModel.Inputs(lanes: true)`) over the sessions' joined KV caches
/// (`KVCache(joining:)`), so every weight is read once per step for the whole batch and each row attends over its
/// own session's cache. Prefills and other jobs (`perform`) run on the same worker, one at a time, before the next
/// batch; callers wait on async continuations and never block a thread of the cooperative pool.
///
/// A batch is cut when every session between `beginDecoding` and `endDecoding` has a step waiting, when `maxBatch`
/// steps wait, or `gather` after the first one arrived (a session that stalls does not hold the others up).
/// Admission (`admit`) bounds live sessions by `maxSessions` and their KV caches by `kvBudget`: a session that does
/// not fit waits for one to end instead of failing.
public final class BatchDecoder: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only with `cond` held.
    /// Most rows in one batched step.
    public let maxBatch: Int
    /// Most sessions admitted at once (their KV caches live together).
    public let maxSessions: Int
    /// Bytes of KV cache all admitted sessions may hold together (nil: unbounded).
    public let kvBudget: Int?
    /// How long the worker waits for the other decoding sessions once one step is waiting.
    public let gather: TimeInterval

    let model: ThinkerTextModel
    let executor: any GraphExecutor
    let weights: any WeightProvider
    private let cond = NSCondition()
    private let queue = DispatchQueue(label: "swift-omni.batch-decoder", qos: .userInitiated)
    /// Each job runs and returns the resumption of its caller, called only after the job (and whatever it
    /// captured, such as a session) is released, so a caller that resumes never finds its session still held here.
    private var jobs: [() -> (() -> Void)] = []
    private var pending: [Step] = []
    private var decoding = 0
    private var draining = false
    private var graphs: [Int: Graph] = [:]
    private var admitted = 0
    private var reservedBytes = 0
    private var waiters: [Waiter] = []
    private var batchRows: [Int: Int] = [:]

    private struct Step {
        let session: ThinkerSession
        let token: Int
        let done: (Result<[Float], Error>) -> Void
    }

    private struct Waiter {
        let id: UUID
        let bytes: Int
        let resume: (Result<Admission, Error>) -> Void
    }

    /// A decoder for `model`'s thinker; see the type's documentation for the limits.
    public init(model: ThinkerTextModel, executor: any GraphExecutor, weights: any WeightProvider, maxBatch: Int = 8,
                maxSessions: Int? = nil, kvBudget: Int? = nil, gather: TimeInterval = 0.002) throws {
        guard maxBatch >= 1 else {
            throw OmniError.invalidArgument(name: "maxBatch", expected: "at least 1", actual: "\(maxBatch)")
        }
        self.model = model
        self.executor = executor
        self.weights = weights
        self.maxBatch = maxBatch
        self.maxSessions = max(1, maxSessions ?? maxBatch)
        self.kvBudget = kvBudget
        self.gather = gather
    }

    // MARK: admission

    /// A place among the admitted sessions; `release()` (or dropping the last reference) gives it back.
    public final class Admission: @unchecked Sendable {
        // @unchecked: `released` is touched only with the decoder's `cond` held.
        let decoder: BatchDecoder
        let bytes: Int
        var released = false
        init(decoder: BatchDecoder, bytes: Int) {
            self.decoder = decoder
            self.bytes = bytes
        }
        /// Gives the place back (idempotent); the next waiting session that fits is admitted.
        public func release() { decoder.release(self) }
        deinit { decoder.release(self) }
    }

    /// Waits until a session with `kvBytes` of KV cache fits (fewer than `maxSessions` admitted and the bytes within
    /// `kvBudget`), then admits it. Throws at once when it could never fit, and `OmniError.cancelled` when the task
    /// is cancelled while waiting.
    public func admit(kvBytes: Int) async throws -> Admission {
        if let budget = kvBudget, kvBytes > budget {
            throw OmniError.invalidArgument(name: "KV cache", expected: "≤ \(ByteCount(budget)) (the sessions' KV budget)",
                                            actual: "\(ByteCount(kvBytes)) for one session (fewer tokens, or a larger budget)")
        }
        let id = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Admission, Error>) in
                cond.lock()
                if Task.isCancelled {
                    cond.unlock()
                    c.resume(throwing: OmniError.cancelled)
                    return
                }
                waiters.append(Waiter(id: id, bytes: kvBytes, resume: { c.resume(with: $0) }))
                let ready = admitWaitersLocked()
                cond.unlock()
                ready.forEach { $0() }
            }
        } onCancel: {
            self.cond.lock()
            let w = self.waiters.firstIndex { $0.id == id }.map { self.waiters.remove(at: $0) }
            self.cond.unlock()
            w?.resume(.failure(OmniError.cancelled))
        }
    }

    /// Admits waiters in order while the next one fits; returns their resumptions (to call without the lock).
    private func admitWaitersLocked() -> [() -> Void] {
        var out: [() -> Void] = []
        while let w = waiters.first, admitted < maxSessions, kvBudget.map({ reservedBytes + w.bytes <= $0 }) ?? true {
            waiters.removeFirst()
            admitted += 1
            reservedBytes += w.bytes
            let a = Admission(decoder: self, bytes: w.bytes)
            out.append { w.resume(.success(a)) }
        }
        return out
    }

    private func release(_ a: Admission) {
        cond.lock()
        guard !a.released else { cond.unlock(); return }
        a.released = true
        admitted -= 1
        reservedBytes -= a.bytes
        let ready = admitWaitersLocked()
        cond.unlock()
        ready.forEach { $0() }
    }

    /// Sessions admitted now, and their KV bytes.
    public var admittedSessions: (count: Int, kvBytes: Int) { cond.withLock { (admitted, reservedBytes) } }

    // MARK: running

    /// Runs `body` on the worker, between batched steps (prefill, a tower, anything that runs the executor).
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            enqueue {
                jobs.append {
                    let r = Result { try body() }
                    return { c.resume(with: r) }
                }
            }
        }
    }

    /// Feeds `token` to `session` in the next batched step; returns its next-token logits [vocab]. Throws
    /// `OmniError.cancelled` when the task is already cancelled (a step already queued runs to its end).
    public func step(_ session: ThinkerSession, token: Int) async throws -> [Float] {
        if Task.isCancelled { throw OmniError.cancelled }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Float], Error>) in
            enqueue { pending.append(Step(session: session, token: token, done: { c.resume(with: $0) })) }
        }
    }

    /// The session will call `step` repeatedly until `endDecoding`: batches wait (up to `gather`) for its step.
    public func beginDecoding() { cond.withLock { decoding += 1; cond.broadcast() } }
    /// The session stopped decoding (finished, failed or cancelled).
    public func endDecoding() { cond.withLock { decoding -= 1; cond.broadcast() } }

    /// Batched steps run so far, by row count (for benchmarks and tests).
    public var batchHistogram: [Int: Int] { cond.withLock { batchRows } }

    private func enqueue(_ add: () -> Void) {
        cond.lock()
        add()
        cond.broadcast()
        let start = !draining
        draining = true
        cond.unlock()
        if start { queue.async { self.drain() } }
    }

    /// The worker: jobs first, then one batch of the waiting steps; stops when nothing waits.
    private func drain() {
        while true {
            cond.lock()
            if !jobs.isEmpty {
                let resume: () -> Void
                do {
                    let job = jobs.removeFirst()
                    cond.unlock()
                    resume = job()
                }
                resume()
                continue
            }
            if pending.isEmpty {
                draining = false
                cond.unlock()
                return
            }
            let deadline = Date(timeIntervalSinceNow: gather)
            while jobs.isEmpty, distinctSessionsLocked() < min(decoding, maxBatch) {
                if !cond.wait(until: deadline) { break }
            }
            if !jobs.isEmpty { cond.unlock(); continue }
            // One row per session: a second step of a session waits for the next batch. The batch (and its sessions)
            // is released before the callers resume.
            let resumes: [() -> Void]
            do {
                var batch: [Step] = [], rest: [Step] = [], seen = Set<ObjectIdentifier>()
                for s in pending {
                    if batch.count < maxBatch, seen.insert(ObjectIdentifier(s.session)).inserted { batch.append(s) } else { rest.append(s) }
                }
                pending = rest
                batchRows[batch.count, default: 0] += 1
                cond.unlock()
                resumes = run(batch)
            }
            resumes.forEach { $0() }
        }
    }

    private func distinctSessionsLocked() -> Int { Set(pending.map { ObjectIdentifier($0.session) }).count }

    private func graph(rows: Int) -> Graph {
        if let g = cond.withLock({ graphs[rows] }) { return g }
        let g = model.graph(.init(tokens: rows, lanes: true, returnsHidden: false))
        cond.withLock { graphs[rows] = g }
        return g
    }

    /// One batched step: row b is batch[b]'s token at its session's next position, over its session's cache.
    /// Returns the callers' resumptions (they hold no session).
    private func run(_ batch: [Step]) -> [() -> Void] {
        let sessions = batch.map(\.session)
        for s in sessions { s.lock.lock() }
        let result = Result { () -> [[Float]] in
            let b = batch.count, vocab = model.config.vocabSize
            let pos = sessions.map(\.nextPositionLocked)
            let cache = b == 1 ? sessions[0].cache : try KVCache(joining: sessions.map(\.cache))
            let inputs = [ThinkerTextModel.inputIDs: Tensor(int64: batch.map { Int64($0.token) }, shape: [b]),
                          ThinkerTextModel.positionIDs: Tensor(int64: pos + pos + pos, shape: [3, b])]
            let r = try executor.run(graph(rows: b), bucket: "thinker.batch\(b)", inputs: inputs, weights: weights,
                                     cache: cache, keep: [])
            let logits = try r[ThinkerTextModel.logits].orThrow(ThinkerTextModel.logits)
            guard logits.dtype == .f32, logits.shape == [b, vocab] else {
                throw OmniError.shapeMismatch(key: ThinkerTextModel.logits, expected: [b, vocab], actual: logits.shape)
            }
            for s in sessions { s.advanceLocked(log: r.attentionLog) }
            // Each session's row straight out of the run's [B, vocab] result (no whole-batch [Float] in between).
            return logits.withContiguousBytes { raw in
                let p = raw.assumingMemoryBound(to: Float.self)
                return (0..<b).map { Array(UnsafeBufferPointer(start: p + $0 * vocab, count: vocab)) }
            }
        }
        for s in sessions { s.lock.unlock() }
        let done = batch.map(\.done)
        switch result {
        case let .success(rows): return zip(done, rows).map { d, row -> () -> Void in { d(.success(row)) } }
        case let .failure(e): return done.map { d -> () -> Void in { d(.failure(e)) } }
        }
    }
}
