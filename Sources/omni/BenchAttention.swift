import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench attention --lengths 256,1024`: causal prefill attention time and scratch bytes per backend.
struct BenchAttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Time causal prefill attention (random Q/K/V) for each backend and length; print time and scratch bytes.")

    @Option(help: "Comma-separated sequence lengths.")
    var lengths = "256,1024,4096,8192"

    @Option(help: "Comma-separated backends (registered names).")
    var backends = "eager,flash_attention_2"

    @Option(parsing: .unconditional, help: "Query heads: 1 … 256.") var heads = 14
    @Option(name: .customLong("kv-heads"), parsing: .unconditional, help: "Key/value heads: 1 … --heads, dividing it.") var kvHeads = 2
    @Option(name: .customLong("head-dim"), parsing: .unconditional, help: "Head dimension: 1 … 1024.") var headDim = 64

    @Option(parsing: .unconditional, help: "Worker threads: 1 … 1024 (default: all cores).")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Timed runs per case (after one warm-up): 1 … 1000; the median is printed.")
    var runs = 3

    func validate() throws {
        try OptionCheck.int(heads, "--heads", 1...256)
        try OptionCheck.int(kvHeads, "--kv-heads", 1...heads)
        try OptionCheck.int(headDim, "--head-dim", 1...1024)
        try OptionCheck.threads(threads)
        try OptionCheck.int(runs, "--runs", 1...1000)
        for s in lengths.split(separator: ",", omittingEmptySubsequences: false) {
            guard let n = Int(s) else {
                throw OmniError.invalidArgument(name: "--lengths", expected: "comma-separated integers in 1 … 65536", actual: "\"\(s)\"")
            }
            try OptionCheck.int(n, "--lengths", 1...65536)
        }
    }

    func run() throws {
        let lens = try lengths.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n > 0 else { throw ValidationError("--lengths: '\(s)' is not a positive integer") }
            return n
        }
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, headDim > 0, runs > 0 else {
            throw ValidationError("--heads must be a positive multiple of --kv-heads; --head-dim and --runs positive")
        }
        let registry = Composition.registry()
        let chosen = try backends.split(separator: ",").map { try registry.attention(named: String($0)) }
        let workers = threads ?? System.coreCount
        // As in a model run: the executor pins OpenBLAS to one thread (backends parallelize themselves).
        _ = Executor(registry: registry, threads: workers)
        print("length  backend              median ms   scratch bytes   scratch / eager")
        for n in lens {
            let q = Self.random(n * heads * headDim, seed: 1)
            let k = Self.random(n * kvHeads * headDim, seed: 2)
            let v = Self.random(n * kvHeads * headDim, seed: 3)
            let out = Tensor(zeros: [n, heads * headDim])
            let shape = AttentionShape(queryLength: n, keyLength: n, heads: heads, kvHeads: kvHeads, headDim: headDim)
            let eagerScratch = try registry.attention(named: "eager").scratchBytes(for: shape, threads: workers)
            for backend in chosen {
                let scratch = Tensor(zeros: [max(1, backend.scratchBytes(for: shape, threads: workers))], dtype: .u8)
                let call = AttentionCall(shape: shape, mask: .causal(), q: Tensor(q, shape: [n, heads * headDim]),
                                         k: Tensor(k, shape: [n, kvHeads * headDim]), v: Tensor(v, shape: [n, kvHeads * headDim]),
                                         out: out, scratch: scratch, threads: workers)
                var seconds: [Double] = []
                for r in 0...runs {
                    let s = try BenchTiming.time { try backend.run(call) }
                    if r > 0 { seconds.append(s) }
                }
                let scratchBytes = backend.scratchBytes(for: shape, threads: workers)
                let name = backend.name.padding(toLength: 19, withPad: " ", startingAt: 0)
                print(String(format: "%6d  ", n) + name + String(format: "  %9.2f   %13d   %6.2f%%",
                      BenchTiming.median(seconds) * 1000, scratchBytes, 100 * Double(scratchBytes) / Double(max(1, eagerScratch))))
            }
        }
    }

    /// `count` floats uniform in [-1, 1) from a fixed sequence.
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var p = [Float](repeating: 0, count: count)
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            p[i] = Float(state >> 40) / Float(1 << 23) - 1
        }
        return p
    }
}
