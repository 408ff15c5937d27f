import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench prefill MODEL --tokens 512`: thinker prefill speed (tokens/s), like llama-bench's pp.
struct BenchPrefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Time thinker prefill of --tokens ids into an empty cache (last-row logits, optionally in --prefill-chunk chunks); median tokens/s of --runs.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(parsing: .unconditional, help: "Prompt length: 1 … the model's positions.")
    var tokens = 512

    @Option(parsing: .unconditional, help: "Timed runs (after one untimed warm-up run): 1 … 1000.")
    var runs = 3

    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional,
            help: "Prefill in chunks of at most N tokens: 1 … the model's positions. Default: one step.")
    var prefillChunk: Int?

    func validate() throws {
        try OptionCheck.int(tokens, "--tokens", 1...(1 << 20))
        try OptionCheck.int(runs, "--runs", 1...1000)
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max), unit: " (at most the model's positions)") }
        try modelArgs.validateOptions()
    }

    func run() throws {
        let model = try modelArgs.load()
        try CheckpointLimits.checkPositions(promptTokens: tokens, maxNewTokens: 0, config: model.config)
        try ThinkerSession.checkPrefillChunk(prefillChunk, config: model.config.thinker.text, argument: "--prefill-chunk")
        let ids = BenchTiming.tokenIDs(tokens, vocab: model.config.thinker.text.vocabSize, seed: 1)
        var seconds: [Double] = []
        for r in 0...runs {
            let session = try model.newSession(capacity: tokens)
            // Logits only, as generation without the talker (and transformers' forward) returns them.
            let s = try BenchTiming.time { try session.prefill(ids: ids, chunk: prefillChunk, hidden: false) }
            if r > 0 { seconds.append(s) }
        }
        let (med, lo, hi) = BenchTiming.rates(seconds, work: tokens)
        print(String(format: "prefill: %.2f tokens/s (median of %d runs; min %.2f, max %.2f), tokens %d", 
                     med, runs, lo, hi, tokens) + (prefillChunk.map { ", chunk \($0)" } ?? "") + ", dtype \(modelArgs.dtype), threads \(modelArgs.threads ?? System.coreCount)")
        print("memory: \(model.executor.device.memory.report())")
    }
}
