import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench conv`: the convolutions' GEMMs split over the kernel pool vs OpenBLAS raised to all threads, on
/// the audio tower's conv shapes (Qwen2.5-Omni-7B: 128 → 1280 and 1280 → 1280 stride 2, kernel 3, 30 s of mel)
/// and a BigVGAN-like transposed conv (1536 → 768, kernel 11, stride 5).
struct BenchConvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract: "Time conv1d / convTranspose1d graphs with each convolution threading (median of --runs).")

    @Option(help: "Threads (the executor's pool).") var threads = 2
    @Option(help: "Timed runs (after one untimed warm-up run).") var runs = 5
    @Option(help: "Mel frames for the audio convs (100 per second).") var frames = 3000

    func validate() throws {
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be in 1...256, got \(threads)") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
        guard (16...100_000).contains(frames) else { throw ValidationError("--frames must be in 16...100000, got \(frames)") }
    }

    func run() throws {
        var rng = SplitMix64(seed: 11)
        func random(_ shape: Shape) -> Tensor {
            Tensor((0..<shape.elementCount).map { _ in Float(rng.nextUnit() * 2 - 1) * 0.05 }, shape: shape)
        }
        var cases: [(String, Graph, [String: Tensor], InMemoryWeights)] = []
        do {
            var g = Graph()
            let x = g.input("x", shape: [128, frames])
            let c1 = g.conv1d(x, g.weight("w1", shape: [1280, 128, 3]), bias: g.weight("b1", shape: [1280]), padding: 1, name: "c1")
            g.markOutput(g.conv1d(c1, g.weight("w2", shape: [1280, 1280, 3]), bias: g.weight("b2", shape: [1280]), stride: 2,
                                  padding: 1, name: "c2"))
            cases.append(("audio convs 128→1280→1280, \(frames) frames", g, ["x": random([128, frames])],
                          InMemoryWeights(["w1": random([1280, 128, 3]), "b1": random([1280]),
                                           "w2": random([1280, 1280, 3]), "b2": random([1280])])))
        }
        do {
            var g = Graph()
            let x = g.input("x", shape: [1536, 200])
            g.markOutput(g.convTranspose1d(x, g.weight("w", shape: [1536, 768, 11]), bias: g.weight("b", shape: [768]),
                                           stride: 5, padding: 3, name: "y"))
            cases.append(("convTranspose1d 1536→768, k 11, stride 5, 200 frames", g, ["x": random([1536, 200])],
                          InMemoryWeights(["w": random([1536, 768, 11]), "b": random([768])])))
        }
        let exec = Executor(registry: BuiltinPlugins.registry(), threads: threads)
        defer { Executor.convolutionThreading = .pool }
        print("threads \(threads), median of \(runs)")
        for (label, g, inputs, weights) in cases {
            var line = label
            for mode in ConvolutionThreading.allCases {
                Executor.convolutionThreading = mode
                let plan = exec.plan(g)
                var s: [Double] = []
                for r in 0...runs {
                    let t = try BenchTiming.time { _ = try exec.run(plan, inputs: inputs, weights: weights) }
                    if r > 0 { s.append(t) }
                }
                line += String(format: "   %@ %.1f ms", mode.rawValue, BenchTiming.median(s) * 1000)
            }
            print(line)
        }
    }
}
