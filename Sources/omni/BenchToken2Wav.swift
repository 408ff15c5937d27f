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
    }

    func run() throws {
        let registry = Composition.registry()
        let executor = Executor(registry: registry, threads: threads)
        let config = try Token2WavConfig.qwen25Omni7B()
        var rng = SplitMix64(seed: 9)
        func uniform(_ n: Int, _ a: Float) -> [Float] { (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) * a } }
        // Synthetic weights: U(−1/√fan_in, 1/√fan_in) for matrices and kernels, small biases, zero SnakeBeta logs.
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
        let codes = BenchTiming.tokenIDs(seconds * 50, vocab: dit.numEmbeds)
        let method = ODESolver(rawValue: solver) ?? .rk4
        print(String(format: "token2wav bench: %d s of speech (%d codes, %d mel frames), DiT %d×%d, BigVGAN from %d, %.2f GB f32 weights, threads %d",
                     seconds, codes.count, codes.count * dit.repeats, dit.layers, dit.hiddenSize,
                     config.bigvgan.upsampleInitialChannel, Double(bytes) / 1e9, executor.threads))
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
}
