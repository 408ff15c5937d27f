import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench prefill MODEL --tokens 512`: thinker prefill speed (tokens/s), like llama-bench's pp.
struct BenchPrefillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefill",
        abstract: "Time thinker prefill of --tokens ids into an empty cache (last-row logits); median tokens/s of --runs.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(help: "Prompt length.")
    var tokens = 512

    @Option(help: "Timed runs (after one untimed warm-up run).")
    var runs = 3

    func validate() throws {
        if tokens < 1 { throw ValidationError("--tokens must be ≥ 1") }
        if runs < 1 { throw ValidationError("--runs must be ≥ 1") }
    }

    func run() throws {
        let model = try modelArgs.load()
        let ids = BenchTiming.tokenIDs(tokens, vocab: model.config.thinker.text.vocabSize, seed: 1)
        var seconds: [Double] = []
        for r in 0...runs {
            let session = try model.newSession(capacity: tokens)
            let s = try BenchTiming.time { try session.prefill(ids: ids) }
            if r > 0 { seconds.append(s) }
        }
        let (med, lo, hi) = BenchTiming.rates(seconds, work: tokens)
        print(String(format: "prefill: %.2f tokens/s (median of %d runs; min %.2f, max %.2f), tokens %d", 
                     med, runs, lo, hi, tokens) + ", dtype \(modelArgs.dtype), threads \(modelArgs.threads ?? System.coreCount)")
        print("memory: \(model.executor.device.memory.report())")
    }
}
