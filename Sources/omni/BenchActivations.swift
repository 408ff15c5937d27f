import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench activations MODEL`: peak activation memory against input length (issue 14), measured on a fresh
/// executor per row and printed next to what the plan predicts from the same graphs (`ActivationPlanner`).
struct BenchActivationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activations",
        abstract: "Peak activation memory against input length (prefill, audio tower, vision tower on synthetic inputs): measured vs planned, one fresh executor per row.",
        discussion: "Measured: the executor's peak activations + scratch (arena, attention scratch, weight panels) and "
            + "the process's anonymous resident growth (RssAnon sampled every 2 ms, less the KV cache). Planned: "
            + "ActivationPlanner's figure for the same phase and chunk size. Place the weights on disk "
            + "(--device-map thinker=disk) to run the 7B shapes in little memory.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(parsing: .unconditional, help: "Prompt lengths to prefill (comma-separated tokens), e.g. 64,128,256.")
    var prefill: String = ""

    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional, help: "Prefill chunk (rows): 1 … 2^31. Default: one step.")
    var prefillChunk: Int?

    @Option(name: .customLong("audio-seconds"), parsing: .unconditional, help: "Audio lengths (comma-separated whole seconds, 100 mel frames each).")
    var audioSeconds: String = ""

    @Option(name: .customLong("video-slices"), parsing: .unconditional,
            help: "Video lengths in temporal patches (comma-separated; 2 frames each, one per second at 2 fps).")
    var videoSlices: String = ""

    @Option(name: .customLong("frame-size"), parsing: .unconditional, help: "Video frame side in pixels (a multiple of 28): 28 … 2016.")
    var frameSize = 224

    @OptionGroup var towers: TowerChunkArguments

    func lengths(_ s: String, _ name: String, _ range: ClosedRange<Int>) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), range.contains(n) else {
                throw ValidationError("\(name): '\($0)' is not a whole number in \(range.lowerBound) … \(range.upperBound)")
            }
            return n
        }
    }

    func validate() throws {
        _ = try lengths(prefill, "--prefill", 1...(1 << 20))
        _ = try lengths(audioSeconds, "--audio-seconds", 1...3600)
        _ = try lengths(videoSlices, "--video-slices", 1...3600)
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max)) }
        guard frameSize >= 28, frameSize <= 2016, frameSize % 28 == 0 else {
            throw ValidationError("--frame-size must be a multiple of 28 in 28 … 2016, got \(frameSize)")
        }
        try towers.validate()
        try modelArgs.validateOptions()
    }

    func run() throws {
        let threads = modelArgs.threads ?? System.coreCount
        print("threads \(threads), attention \(modelArgs.attention), dtype \(modelArgs.dtype), device map \(modelArgs.deviceMap)")
        print(Self.columns(["phase", "length", "chunk", "planned", "measured", "measured/planned", "anon growth", "seconds"]))
        for n in try lengths(prefill, "--prefill", 1...(1 << 20)) {
            try row("prefill", "\(n) tokens", prefillChunk.map { "\($0) rows" } ?? "one step",
                    workload: Workload(promptTokens: n, newTokens: 1), chunks: ChunkSizes(prefillChunk: prefillChunk),
                    phase: "thinker prefill") { model in
                try CheckpointLimits.checkPositions(promptTokens: n, maxNewTokens: 0, config: model.config)
                let session = try model.newSession(capacity: n)
                try session.prefill(ids: BenchTiming.tokenIDs(n, vocab: model.config.thinker.text.vocabSize, seed: 1), chunk: prefillChunk)
            }
        }
        for s in try lengths(audioSeconds, "--audio-seconds", 1...3600) {
            let frames = s * 100
            try row("audio tower", "\(s) s", towers.audioWindows.map { "\($0) windows" } ?? "one run",
                    workload: Workload(promptTokens: 1, newTokens: 1, audioFrames: [frames]),
                    chunks: ChunkSizes(audioWindows: towers.audioWindows), phase: "audio tower") { model in
                guard let bins = model.audio?.config.melBins else { throw ValidationError("\(modelArgs.model) has no audio tower") }
                var rng = SplitMix64(seed: 5)
                let f = Tensor((0..<(bins * frames)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [1, bins, frames])
                let m = Tensor(int64: Array(repeating: 1, count: frames), shape: [1, frames])
                model.audioWindowsPerRun = towers.audioWindows
                _ = try model.encodeAudio(features: f, mask: m)
            }
        }
        for t in try lengths(videoSlices, "--video-slices", 1...3600) {
            let side = frameSize / 14
            let grid = VisionEncoder.Grid(t: t, h: side, w: side)
            try row("vision tower", "\(t) slices", towers.visionSlices.map { "\($0) t-slices" } ?? "one run",
                    workload: Workload(promptTokens: 1, newTokens: 1, videoGrids: [grid]),
                    chunks: ChunkSizes(visionSlices: towers.visionSlices), phase: "vision tower, video") { model in
                guard let v = model.vision?.config else { throw ValidationError("\(modelArgs.model) has no vision tower") }
                var rng = SplitMix64(seed: 7)
                let width = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize
                let px = Tensor((0..<(grid.patches * width)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [grid.patches, width])
                model.visionSlicesPerRun = towers.visionSlices
                _ = try model.encodeVision(pixels: px, grids: [grid])
            }
        }
    }

    /// Loads a fresh model (fresh executor and memory accounting), plans `phase` for `workload` and `chunks`, runs
    /// `body` and prints one row (the anonymous growth less the KV cache; synthetic inputs are made inside `body`).
    func row(_ name: String, _ length: String, _ chunk: String, workload: Workload, chunks: ChunkSizes, phase: String,
             body: (OmniModel) throws -> Void) throws {
        let model = try modelArgs.load()
        let source = model.weights.source
        let planner = try ActivationPlanner(config: model.config, workload: workload, options: model.options, registry: model.registry,
                                        infos: source.names.compactMap { source.info($0) },
                                        threads: modelArgs.threads ?? System.coreCount, components: Set(model.plan.units.map(\.component)))
        guard let planned = planner.plan(chunks).phases.first(where: { $0.name == phase })?.memory else {
            throw ValidationError("the plan has no \(phase) phase for \(modelArgs.model)")
        }
        let sampler = AnonSampler()
        let t0 = BenchTiming.now()
        try body(model)
        let seconds = BenchTiming.now() - t0
        let peak = model.executor.device.memory.report().peak
        let anon = sampler.stop() - (peak[.kvCache] ?? 0)
        let measured = (peak[.activations] ?? 0) + (peak[.scratch] ?? 0)
        print(Self.columns([name, length, chunk, "\(ByteCount(planned.total))", "\(ByteCount(measured))",
                            String(format: "%.4f", Double(measured) / Double(max(planned.total, 1))), "\(ByteCount(anon))",
                            String(format: "%.1f", seconds)]))
        print("  planned: arena \(planned.arena) B + attention scratch \(planned.attentionScratch) B + panels \(planned.panels.reduce(0, +)) B"
            + " = \(planned.total) B; measured: activations \(peak[.activations] ?? 0) B + scratch \(peak[.scratch] ?? 0) B = \(measured) B")
        fflush(stdout)
    }
}

extension BenchActivationsCommand {
    /// One table row: each cell padded to its column's width.
    static func columns(_ cells: [String]) -> String {
        let widths = [14, 12, 14, 12, 12, 17, 13, 8]
        return zip(cells, widths).map { $0.count >= $1 ? $0 + " " : $0 + String(repeating: " ", count: $1 - $0.count) }.joined()
    }
}

/// Samples the process's anonymous resident memory (RssAnon) every 2 ms on a background thread; `stop()` returns
/// the largest growth over the value at start.
final class AnonSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0, running = true
    private let start: Int
    private let done = DispatchSemaphore(value: 0)

    init() {
        start = Self.rssAnon()
        peak = start
        Thread.detachNewThread { [self] in
            while true {
                let v = Self.rssAnon()
                lock.lock()
                peak = max(peak, v)
                let go = running
                lock.unlock()
                if !go { break }
                usleep(2000)
            }
            done.signal()
        }
    }

    func stop() -> Int {
        lock.lock(); running = false; lock.unlock()
        done.wait()
        return max(0, peak - start)
    }

    static func rssAnon() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return 0
    }
}
