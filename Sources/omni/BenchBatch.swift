import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench batch MODEL`: decode throughput of B sessions decoding at once on one model (`OmniModel.decoder`
/// batches their steps), tokens/s summed over the sessions, for each B of --batches (llama-batched-bench's TG).
struct BenchBatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Time batched decode: B sessions step --new-tokens tokens at once; median summed tokens/s of --runs, per B.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(parsing: .unconditional, help: "Comma-separated session counts, each 1 … 256.")
    var batches = "1,2,4,8"

    @Option(name: .customLong("prompt-tokens"), parsing: .unconditional, help: "Tokens each session prefills before timing (0: decode from an empty cache).")
    var promptTokens = 0

    @Option(name: .customLong("new-tokens"), parsing: .unconditional, help: "Decode steps per session per run: 1 … the model's positions less --prompt-tokens.")
    var newTokens = 64

    @Option(parsing: .unconditional, help: "Timed runs per batch size (after one untimed warm-up run): 1 … 1000.")
    var runs = 3

    func sizes() throws -> [Int] {
        let parts = batches.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0.map { (1...256).contains($0) } ?? false }) else {
            throw ValidationError("--batches: expected comma-separated session counts 1 … 256, got '\(batches)'")
        }
        return parts.compactMap { $0 }
    }

    func validate() throws {
        _ = try sizes()
        try OptionCheck.int(promptTokens, "--prompt-tokens", 0...(1 << 20))
        try OptionCheck.int(newTokens, "--new-tokens", 1...(1 << 20))
        try OptionCheck.int(runs, "--runs", 1...1000)
        try modelArgs.validateOptions()
    }

    func run() throws {
        let sizes = try sizes()
        let model = try modelArgs.load(tokens: promptTokens, newTokens: newTokens, maxBatch: sizes.max() ?? 1)
        try CheckpointLimits.checkPositions(promptTokens: promptTokens, maxNewTokens: newTokens, config: model.config,
                                            argument: "--new-tokens")
        let vocab = model.config.thinker.text.vocabSize
        for b in sizes {
            var seconds: [Double] = []
            let before = model.decoder.batchHistogram[b] ?? 0
            for r in 0...runs {
                let s = try Self.timeRun(model: model, sessions: b, prompt: promptTokens, steps: newTokens, vocab: vocab)
                if r > 0 { seconds.append(s) }   // run 0 warms up (plans the batch graph, converts weights)
            }
            let full = (model.decoder.batchHistogram[b] ?? 0) - before
            let (med, lo, hi) = BenchTiming.rates(seconds, work: b * newTokens)
            print(String(format: "batch %d: %.2f tokens/s (summed over sessions; median of %d runs; min %.2f, max %.2f), "
                         + "%.2f per session, %d of %d steps at full batch", b, med, runs, lo, hi, med / Double(b), full,
                         (runs + 1) * newTokens) + ", dtype \(modelArgs.dtype), threads \(modelArgs.threads ?? System.coreCount)")
        }
    }

    /// Seconds for `sessions` concurrent sessions to decode `steps` tokens each (after prefilling `prompt` ids each).
    static func timeRun(model: OmniModel, sessions: Int, prompt: Int, steps: Int, vocab: Int) throws -> Double {
        let all = try (0..<sessions).map { _ in try model.newSession(capacity: prompt + steps) }
        let ids = BenchTiming.tokenIDs(prompt, vocab: vocab, seed: 1)
        if !ids.isEmpty { for s in all { try s.prefill(ids: ids) } }
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                let t0 = BenchTiming.now()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (i, s) in all.enumerated() {
                        group.addTask {
                            model.decoder.beginDecoding()
                            defer { model.decoder.endDecoding() }
                            for id in BenchTiming.tokenIDs(steps, vocab: vocab, seed: 2 + UInt64(i)) {
                                _ = try await model.decoder.step(s, token: id)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                box.set(.success(BenchTiming.now() - t0))
            } catch {
                box.set(.failure(error))
            }
            done.signal()
        }
        done.wait()
        return try box.get()
    }
}

/// A result handed from a task to the thread waiting for it (set once, read after the semaphore).
private final class ResultBox: @unchecked Sendable {
    // @unchecked: written once by the task before it signals, read by the waiter after the signal.
    private var result: Result<Double, Error> = .failure(CancellationError())
    func set(_ r: Result<Double, Error>) { result = r }
    func get() throws -> Double { try result.get() }
}
