import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench decode MODEL`: thinker decode speed (tokens/s) through `ThinkerSession.step`, like llama-bench's tg.
struct BenchDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Time thinker decode: prefill --prompt-tokens ids, then --new-tokens steps; median tokens/s of --runs.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(name: .customLong("prompt-tokens"), parsing: .unconditional, help: "Tokens prefilled before timing (0: decode from an empty cache, as llama-bench tg).")
    var promptTokens = 0

    @Option(name: .customLong("new-tokens"), parsing: .unconditional, help: "Decode steps timed per run: 1 … the model's positions less --prompt-tokens.")
    var newTokens = 128

    @Option(parsing: .unconditional, help: "Timed runs (after one untimed warm-up run): 1 … 1000.")
    var runs = 5

    func validate() throws {
        try OptionCheck.int(promptTokens, "--prompt-tokens", 0...(1 << 20))
        try OptionCheck.int(newTokens, "--new-tokens", 1...(1 << 20))
        try OptionCheck.int(runs, "--runs", 1...1000)
        try modelArgs.validateOptions()
    }

    func run() throws {
        let model = try modelArgs.load()
        try CheckpointLimits.checkPositions(promptTokens: promptTokens, maxNewTokens: newTokens, config: model.config,
                                            argument: "--new-tokens")
        let vocab = model.config.thinker.text.vocabSize
        let prompt = BenchTiming.tokenIDs(promptTokens, vocab: vocab, seed: 1)
        let steps = BenchTiming.tokenIDs(newTokens, vocab: vocab, seed: 2)
        var seconds: [Double] = []
        for r in 0...runs {
            let session = try model.newSession(capacity: promptTokens + newTokens)
            if !prompt.isEmpty { try session.prefill(ids: prompt) }
            let s = try BenchTiming.time { for id in steps { _ = try session.step(id) } }
            if r > 0 { seconds.append(s) }   // run 0 warms up (and converts weights for a quantized --dtype)
        }
        let (med, lo, hi) = BenchTiming.rates(seconds, work: newTokens)
        print(String(format: "decode: %.2f tokens/s (median of %d runs; min %.2f, max %.2f), prompt %d, new %d", 
                     med, runs, lo, hi, promptTokens, newTokens) + ", dtype \(modelArgs.dtype), threads \(modelArgs.threads ?? System.coreCount)")
        print("memory: \(model.executor.device.memory.report())")
    }
}
