import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench towers MODEL`: audio and vision tower latency on synthetic inputs (random features and pixels).
struct BenchTowersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "towers",
        abstract: "Time the audio tower on --audio-seconds of features and the vision tower on one --image-size image (median of --runs).")

    @OptionGroup var modelArgs: ModelArguments

    @Option(parsing: .unconditional, help: "Seconds of audio (100 mel frames per second); 0 skips the audio tower.") var audioSeconds = 30
    @Option(parsing: .unconditional, help: "Side of a square image in pixels (rounded to a multiple of 28); 0 skips the vision tower.") var imageSize = 448
    @Option(parsing: .unconditional, help: "Timed runs (after one untimed warm-up run): 1 … 1000.") var runs = 3

    func validate() throws {
        if audioSeconds < 0 || audioSeconds > 300 { throw ValidationError("--audio-seconds must be in 0...300") }
        if imageSize < 0 || imageSize > 4096 { throw ValidationError("--image-size must be in 0...4096") }
        try OptionCheck.int(runs, "--runs", 1...1000)
        try modelArgs.validateOptions()
    }

    func run() throws {
        let model = try modelArgs.load()
        var rng = SplitMix64(seed: 5)
        func timed(_ body: () throws -> Tensor) throws -> (Double, Int) {
            var s: [Double] = [], rows = 0
            for r in 0...runs {
                let t0 = BenchTiming.now()
                rows = try body().shape[0]
                if r > 0 { s.append(BenchTiming.now() - t0) }
            }
            return (BenchTiming.median(s), rows)
        }
        let threads = modelArgs.threads ?? System.coreCount
        if audioSeconds > 0, let audio = model.audio {
            let frames = audioSeconds * 100, bins = audio.config.melBins
            let f = Tensor((0..<(bins * frames)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [1, bins, frames])
            let m = Tensor(int64: Array(repeating: 1, count: frames), shape: [1, frames])
            let (s, rows) = try timed { try model.encodeAudio(features: f, mask: m) }
            print(String(format: "audio tower: %d s of audio → %d tokens in %.3f s (median of %d), threads %d", audioSeconds, rows, s, runs, threads))
        }
        if imageSize > 0, let vision = model.vision {
            let side = max(28, (imageSize + 14) / 28 * 28), p = vision.config.patchSize
            let grid = VisionEncoder.Grid(t: 1, h: side / p, w: side / p)
            let width = vision.config.inChannels * vision.config.temporalPatchSize * p * p
            let px = Tensor((0..<(grid.patches * width)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [grid.patches, width])
            let (s, rows) = try timed { try model.encodeVision(pixels: px, grids: [grid]) }
            print(String(format: "vision tower: %d×%d image (%d patches) → %d tokens in %.3f s (median of %d), threads %d",
                         side, side, grid.patches, rows, s, runs, threads))
        }
        print("memory: \(model.executor.device.memory.report())")
    }
}
