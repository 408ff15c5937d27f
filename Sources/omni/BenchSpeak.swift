import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench speak`: time to first audio when streaming, from the talker's prompt rows to the first PCM chunk of
/// the token2wav streamer (the machinery of `OmniModel.speak` and `Token2Wav.pcmStream`): talker prefill, one code
/// per step, each code pushed into `Token2WavStreamer` until it returns samples. The thinker is not included (its
/// reply rows are random here); `omni bench decode` times it.
struct BenchSpeakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speak",
        abstract: "Time to first streamed audio (talker prefill → codes → streamed token2wav → first PCM chunk) on a model folder's talker and token2wav weights.")

    @Option(help: "A model folder with talker.* and token2wav.* weights and a spk_dict (e.g. Benchmarks/make_synthetic_speech.py's).")
    var model: String
    @Option(help: "Speaker (default: the folder's first).") var speaker: String?
    @Option(name: .customLong("prompt-tokens"), help: "Talker prefill rows (prompt + speaker BOS + first reply row).")
    var promptTokens = 128
    @Option(help: "ODE time points of the streamed DiT.") var steps = Token2Wav.defaultSteps
    @Option(help: "Timed runs (after one untimed warm-up run).") var runs = 2
    @Option(help: "Worker threads.") var threads = 2

    func validate() throws {
        for (v, name) in [(promptTokens, "--prompt-tokens"), (runs, "--runs"), (threads, "--threads")] where v < 1 {
            throw ValidationError("argument \(name): expected an integer ≥ 1, got \(v)")
        }
        guard FlowSolver.stepRange.contains(steps) else {
            throw ValidationError("argument --steps: expected \(FlowSolver.stepRange.lowerBound)...\(FlowSolver.stepRange.upperBound), got \(steps)")
        }
    }

    func run() throws {
        let registry = BuiltinPlugins.registry()
        let executor = Executor(registry: registry, threads: threads)
        let dir = URL(fileURLWithPath: model)
        guard let config = try OmniConfig.load(directory: dir).talker else {
            throw OmniError.config(file: dir.appendingPathComponent("config.json").path, keyPath: "talker_config",
                                   expected: "a talker config", actual: "none")
        }
        let weights = ModelWeights(source: try registry.weightFormat(for: dir).open(dir), registry: registry, device: executor.device)
        let talker = TalkerModel(config: config, attention: ["flash_attention_2", "eager"])
        let t2w = try Token2Wav.load(directory: dir, registry: registry, executor: executor)
        guard let name = speaker ?? t2w.speakers.names.first else {
            throw OmniError.invalidArgument(name: "--model", expected: "a folder whose spk_dict has a voice", actual: model)
        }
        let voice = try t2w.speakers.voice(named: name)
        let options = Token2WavStreamOptions()
        // Random weights sample any of the talker's codes; those past the DiT's codec table (which a trained talker
        // does not emit before its ending code) are suppressed with the codec BOS.
        let suppressed = Set([config.codecStartTokenID]).union((t2w.config.dit.numEmbeds + 1)..<config.decoder.vocabSize)
        let e = config.embeddingSize
        var rng = SplitMix64(seed: 11)
        func rows(_ n: Int) -> Tensor { Tensor((0..<(n * e)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [n, e]) }
        let prefillEmbeds = rows(promptTokens), prefillHidden = rows(promptTokens), reply = rows(1)
        print(String(format: "speak bench: talker %d×%d, DiT %d×%d, %d steps, stream chunk %d + right %d blocks of %d frames, voice %@, threads %d",
                     config.decoder.layers, config.decoder.hiddenSize, t2w.config.dit.layers, t2w.config.dit.hiddenSize, steps,
                     options.chunkBlocks, options.rightBlocks, t2w.config.dit.blockSize, name, threads))
        var firsts: [Double] = []
        for r in 0...runs {
            let start = BenchTiming.now()
            let session = try TalkerSession(model: talker, executor: executor, weights: weights, capacity: promptTokens + 1024)
            let streamer = try Token2WavStreamer(model: t2w, voice: voice, steps: steps, seed: UInt64(r), options: options)
            var sampler = Sampler(options: .talker(seed: UInt64(r)))
            var history = [Int](repeating: config.codecMaskTokenID, count: promptTokens)
            var logits = try session.prefill(embeds: prefillEmbeds, hidden: prefillHidden,
                                             codecIDs: [config.codecPadTokenID, config.codecStartTokenID], positions: nil)
            let prefilled = BenchTiming.now()
            var talking = 0.0, streaming = 0.0, samples = 0, codes = 0
            while samples == 0 {
                let code = sampler.next(logits: logits, history: history, generatedCount: codes, eos: [],
                                        suppressed: suppressed)
                history.append(code)
                codes += 1
                streaming += try BenchTiming.time { samples = try streamer.push([code]).count }
                if samples == 0 { talking += try BenchTiming.time { logits = try session.step(code: code, embeds: reply, hidden: reply) } }
            }
            let first = BenchTiming.now() - start
            if r > 0 { firsts.append(first) }
            print(String(format: "  %@: first audio after %.2f s: prefill %.2f s, %d codes (talker %.2f s), streamed token2wav %.2f s, first chunk %d samples",
                         r == 0 ? "warm-up" : "run \(r)", first, prefilled - start, codes, talking, streaming, samples))
        }
        print(String(format: "RESULT first_audio_s %.3f", BenchTiming.median(firsts)))
        print("memory: \(executor.device.memory.report())")
    }
}
