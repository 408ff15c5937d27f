import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench token2wav`: real-time factor of token2wav (DiT + BigVGAN, f32) on synthetic weights with the real
/// Qwen2.5-Omni-7B shapes, for `--seconds` of speech (50 codes per second) at each `--steps`.
struct BenchToken2WavCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token2wav",
        abstract: "Token2wav real-time factor on synthetic 7B-shaped weights (DiT 22×1024, BigVGAN from 1536 channels).")

    @Option(help: "Seconds of speech to synthesize, 1...60 (50 codec codes per second).") var seconds = 10
    @Option(help: "Comma-separated ODE time-point counts (the reference's num_steps), each 2...1000.") var steps = "10,4"
    @Option(help: "ODE solver: rk4 or euler.") var solver = ODESolver.rk4.rawValue
    @Option(help: "Reference-mel frames of the synthetic voice, 5...3000.") var refFrames = 300
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "A model folder to load token2wav's weights and speakers from (e.g. Benchmarks/make_synthetic_speech.py's) instead of random in-memory weights.")
    var model: String?
    @Option(help: "Speaker of --model (default: its first).") var speaker: String?
    @Option(help: "Instead of whole integrations: time this many single DiT evaluations (after a warm-up) on the whole utterance, time BigVGAN once, and derive each --steps' real-time factor as (conditioning + evaluations × median evaluation + BigVGAN) / seconds.")
    var evaluations: Int?

    func parsedSteps() throws -> [Int] {
        let parts = steps.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0.map { FlowSolver.stepRange.contains($0) } ?? false }) else {
            throw ValidationError("--steps: expected comma-separated integers in \(FlowSolver.stepRange.lowerBound)...\(FlowSolver.stepRange.upperBound), got '\(steps)'")
        }
        return parts.compactMap { $0 }
    }

    func validate() throws {
        guard (1...60).contains(seconds) else { throw ValidationError("--seconds: expected 1...60, got \(seconds)") }
        _ = try parsedSteps()
        guard ODESolver(rawValue: solver) != nil else { throw ValidationError("--solver: expected rk4 or euler, got '\(solver)'") }
        guard (5...3000).contains(refFrames) else { throw ValidationError("--ref-frames: expected 5...3000, got \(refFrames)") }
        if let t = threads, t < 1 { throw ValidationError("--threads: expected ≥ 1, got \(t)") }
        if let e = evaluations, !(1...100).contains(e) { throw ValidationError("--evaluations: expected 1...100, got \(e)") }
    }

    func run() throws {
        let registry = Composition.registry()
        let executor = Executor(registry: registry, threads: threads)
        let (t2w, voice, source) = try model.map { try loaded($0, registry: registry, executor: executor) }
            ?? synthetic(executor: executor)
        let config = t2w.config, dit = config.dit
        let codes = BenchTiming.tokenIDs(seconds * 50, vocab: dit.numEmbeds)
        let method = ODESolver(rawValue: solver) ?? .rk4
        print(String(format: "token2wav bench: %d s of speech (%d codes, %d mel frames), DiT %d×%d, BigVGAN from %d, %@, threads %d",
                     seconds, codes.count, codes.count * dit.repeats, dit.layers, dit.hiddenSize,
                     config.bigvgan.upsampleInitialChannel, source, executor.threads))
        if let evaluations { return try perEvaluation(t2w, voice: voice, codes: codes, count: evaluations, method: method, executor: executor) }
        var mel: Tensor?
        for n in try parsedSteps() {
            let evals = try FlowSolver(steps: n, method: method).evaluations
            var m: Tensor?
            let s = try BenchTiming.time { m = try t2w.mel(codes: codes, voice: voice, steps: n, solver: method, seed: 1) }
            mel = m
            print(String(format: "  DiT %@ %d steps (%d evaluations, CFG batched): %.1f s, RTF %.2f, %.2f s per evaluation",
                         solver, n, evals, s, s / Double(seconds), s / Double(evals)))
        }
        if let mel {
            let s = try BenchTiming.time { _ = try t2w.waveform(mel: mel) }
            print(String(format: "  BigVGAN: %.1f s, RTF %.2f", s, s / Double(seconds)))
        }
        print("memory: \(executor.device.memory.report())")
    }

    /// `--evaluations`: one warm-up and `count` timed DiT evaluations at mid-flow, BigVGAN once after a warm-up run;
    /// prints `RESULT` lines
    /// (read by Benchmarks/bench_speech_vs.py) and each step count's real-time factor.
    func perEvaluation(_ t2w: Token2Wav, voice: Voice, codes: [Int], count: Int, method: ODESolver, executor: Executor) throws {
        let dit = t2w.config.dit, frames = codes.count * dit.repeats
        var field: ((Float, [Float]) throws -> [Float])?
        let conditioning = try BenchTiming.time { field = try t2w.velocityField(codes: codes, voice: voice) }
        guard let field else { return }
        let state = Token2Wav.noise(frames: 0..<frames, melDim: dit.melDim, seed: 1)
        _ = try field(0.5, state)
        var times: [Double] = []
        for _ in 0..<count { times.append(try BenchTiming.time { _ = try field(0.5, state) }) }
        let mel = Tensor(Token2Wav.noise(frames: 0..<frames, melDim: dit.melDim, seed: 2).map { $0 - 5 }, shape: [dit.melDim, frames])
        _ = try t2w.waveform(mel: mel)   // warm-up: the first run of a length plans its graph and converts weights
        let vocode = try BenchTiming.time { _ = try t2w.waveform(mel: mel) }
        let ev = BenchTiming.median(times)
        print(String(format: "  conditioning %.3f s, DiT evaluation (CFG batched) median %.3f s of %d (min %.3f, max %.3f), BigVGAN %.3f s",
                     conditioning, ev, count, times.min() ?? 0, times.max() ?? 0, vocode))
        print(String(format: "RESULT dit_evaluation_s %.3f", ev))
        print(String(format: "RESULT bigvgan_s %.3f", vocode))
        for n in try parsedSteps() {
            let evals = try FlowSolver(steps: n, method: method).evaluations
            print(String(format: "RESULT rtf_%d_steps %.3f", n, (conditioning + Double(evals) * ev + vocode) / Double(seconds)))
        }
        print("memory: \(executor.device.memory.report())")
    }

    /// Token2wav and a voice from a model folder.
    func loaded(_ path: String, registry: PluginRegistry, executor: Executor) throws -> (Token2Wav, Voice, String) {
        let t2w = try Token2Wav.load(directory: URL(fileURLWithPath: path), registry: registry, executor: executor)
        guard let name = speaker ?? t2w.speakers.names.first else {
            throw OmniError.invalidArgument(name: "--model", expected: "a folder whose spk_dict has a voice", actual: path)
        }
        return (t2w, try t2w.speakers.voice(named: name), "weights of \(path), voice \(name)")
    }

    /// Synthetic f32 weights with the 7B token2wav shapes: U(−1/√fan_in, 1/√fan_in) for matrices and kernels,
    /// small biases, zero SnakeBeta logs; a random voice with `refFrames` reference frames.
    func synthetic(executor: Executor) throws -> (Token2Wav, Voice, String) {
        let config = try Token2WavConfig.qwen25Omni7B()
        var rng = SplitMix64(seed: 9)
        func uniform(_ n: Int, _ a: Float) -> [Float] { (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) * a } }
        let shell = Token2Wav(config: config, speakers: Speakers(file: "(synthetic)", voices: [:]),
                              weights: InMemoryWeights([:]), executor: executor)
        var tensors: [String: Tensor] = [:]
        var bytes = 0
        for (key, shape) in shell.expectedWeights() {
            let n = shape.elementCount
            let values: [Float]
            if key.hasSuffix(".alpha") || key.hasSuffix(".beta") { values = [Float](repeating: 0, count: n) }
            else if shape.rank == 1 { values = uniform(n, 0.02) }
            else { values = uniform(n, 1 / Float(n / shape[0]).squareRoot()) }
            tensors[key] = Tensor(values, shape: shape)
            bytes += n * 4
        }
        let dit = config.dit
        let voice = Voice(name: "synthetic", bosToken: 0, cond: Tensor(uniform(dit.encEmbDim, 1), shape: [dit.encEmbDim]),
                          refMel: Tensor(uniform(refFrames * dit.melDim, 2), shape: [refFrames, dit.melDim]))
        let t2w = Token2Wav(config: config, speakers: Speakers(file: "(synthetic)", voices: [voice.name: voice]),
                            weights: InMemoryWeights(tensors), executor: executor, attention: ["flash_attention_2", "eager"])
        return (t2w, voice, String(format: "%.2f GB synthetic f32 weights", Double(bytes) / 1e9))
    }
}
