import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench long-video MODEL --video-seconds 15,30,60`: issue 14's long-video table on our side. Each length is a
/// synthetic video with its audio track interleaved (`SyntheticVideoInput`, laid out as the processor does with
/// `use_audio_in_video`), run as generation runs it: chunk sizes planned for the executor's device budget (or as
/// given), both towers, the embedding scatter, the thinker prefill and the first token. Prints the time and the
/// peak memory of the executor's device over the run (weights included: `torch.cuda.max_memory_allocated`'s meaning),
/// with the arena and scratch of earlier runs freed first (`GraphExecutor.releaseBuffers`).
struct BenchLongVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "long-video",
        abstract: "Time and peak device memory of towers + prefill + first token on synthetic video with its audio (issue 14).",
        discussion: "Run with --device-map cuda:0 --max-memory cuda:0=24GiB to let the planner chunk the towers and the "
            + "prefill for the GPU budget. One untimed warm-up run of --warmup-seconds uploads the weights first.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(name: .customLong("video-seconds"), parsing: .unconditional,
            help: "Video lengths in whole seconds (comma-separated, 1 … 3600), each with as many seconds of audio.")
    var videoSeconds = "15,30,60"

    @Option(name: .customLong("frame"), parsing: .unconditional,
            help: "Resized frame HEIGHTxWIDTH in pixels (multiples of 28); 560x1008 is a 1080p source under qwen-omni-utils' cap.")
    var frame = "560x1008"

    @Option(parsing: .unconditional, help: "Timed runs per length (after the warm-up): 1 … 100.")
    var runs = 1

    @Option(name: .customLong("warmup-seconds"), parsing: .unconditional, help: "Length of the untimed warm-up run: 0 … 3600 (0: none).")
    var warmupSeconds = 2

    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional,
            help: "Prefill chunk (rows): 1 … 2^31. Default: planned for the budget.")
    var prefillChunk: Int?

    @Option(name: .customLong("plan-memory"), parsing: .unconditional,
            help: "Device memory to plan the chunks for, e.g. 24GB (default: the device's --max-memory); a larger --max-memory lets a run that outgrows its plan finish, so its peak is measured rather than refused.")
    var planMemory: String?

    @OptionGroup var towers: TowerChunkArguments

    @Flag(help: "After each length's timed runs, time its stages once more on their own: the audio tower, the vision tower, and the input embeddings (lookup, both towers, scatter); prefill and first token are the rest.")
    var breakdown = false

    func lengths() throws -> [Int] {
        try videoSeconds.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), (1...3600).contains(n) else {
                throw ValidationError("--video-seconds: '\($0)' is not a whole number in 1 … 3600")
            }
            return n
        }
    }

    func frameSize() throws -> (Int, Int) {
        let parts = frame.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 >= 28 && $0 <= 4096 && $0 % 28 == 0 }) else {
            throw ValidationError("--frame: expected HEIGHTxWIDTH, multiples of 28 in 28 … 4096, got '\(frame)'")
        }
        return (parts[0], parts[1])
    }

    func planBudget() throws -> Int? {
        guard let planMemory else { return nil }
        guard let b = ByteCount(parsing: planMemory), b.bytes > 0 else {
            throw ValidationError("--plan-memory: expected a size such as 24GB or 22GiB, got '\(planMemory)'")
        }
        return b.bytes
    }

    func validate() throws {
        _ = try lengths()
        _ = try frameSize()
        try OptionCheck.int(runs, "--runs", 1...100)
        try OptionCheck.int(warmupSeconds, "--warmup-seconds", 0...3600)
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max)) }
        _ = try planBudget()
        try towers.validate()
        try modelArgs.validateOptions()
    }

    func run() throws {
        let (h, w) = try frameSize()
        let model = try modelArgs.load(tokens: 256, newTokens: 1)
        let device = model.executor.device
        print("long-video: device \(device.id), dtype \(modelArgs.dtype), compute \(modelArgs.computeDType), attention \(modelArgs.attention), "
              + "frame \(h)x\(w), budget \(device.memory.report().budget.map { "\(ByteCount($0))" } ?? "none"), "
              + "planned for \(try planBudget().map { "\(ByteCount($0))" } ?? "the budget")")
        if warmupSeconds > 0 { _ = try once(model, seconds: warmupSeconds, h: h, w: w) }
        for s in try lengths() {
            var times: [Double] = [], peaks: [Int] = []
            var line = ""
            do {
                for _ in 0..<runs {
                    let r = try once(model, seconds: s, h: h, w: w)
                    times.append(r.seconds); peaks.append(r.peak); line = r.describe
                }
            } catch {   // a length that does not fit says why; the others still run
                print("long-video: \(s) s, error: \(error)")
                continue
            }
            print(String(format: "long-video: %d s, %@, seconds %.3f (median of %d), peak %.3f GiB (%.2f GB)",
                         s, line, BenchTiming.median(times), runs, Double(peaks.max() ?? 0) / 1_073_741_824,
                         Double(peaks.max() ?? 0) / 1e9))
            if breakdown { try stages(model, seconds: s, h: h, w: w, whole: BenchTiming.median(times)) }
        }
        print("memory: \(device.memory.report())")
    }

    /// The stages of one length timed on their own, with the chunk sizes the last timed run used (`useTowerChunks`
    /// stays set): each tower, then the whole input-embedding step. Prefill and first token = whole − embeddings.
    func stages(_ model: OmniModel, seconds: Int, h: Int, w: Int, whole: Double) throws {
        let input = try SyntheticVideoInput(seconds: seconds, frameHeight: h, frameWidth: w).input(config: model.config.thinker)
        var audio = 0.0, vision = 0.0
        if let f = input.audioFeatures, let m = input.audioMask {
            audio = try BenchTiming.time { _ = try model.encodeAudio(features: f, mask: m) }
        }
        if let p = input.pixelValuesVideos {
            vision = try BenchTiming.time { _ = try model.encodeVision(pixels: p, grids: input.videoGrids) }
        }
        let embeddings = try BenchTiming.time { _ = try model.inputEmbeddings(input) }
        print(String(format: "long-video: %d s, stages: audio tower %.3f s, vision tower %.3f s, input embeddings %.3f s "
                     + "(lookup + towers + scatter), prefill + first token %.3f s (whole %.3f − embeddings)",
                     seconds, audio, vision, embeddings, whole - embeddings, whole))
    }

    /// One run: input made (untimed), chunks planned, then towers + prefill + first token timed; the device's peak
    /// over the timed part (weights, KV cache, arena, scratch).
    func once(_ model: OmniModel, seconds: Int, h: Int, w: Int) throws -> (seconds: Double, peak: Int, describe: String) {
        let clip = SyntheticVideoInput(seconds: seconds, frameHeight: h, frameWidth: w)
        let input = try clip.input(config: model.config.thinker)
        let planned = try model.plannedChunks(for: input, maxNewTokens: 1, requested: towers.requested(prefillChunk: prefillChunk),
                                              deviceBudget: try planBudget())
        model.useTowerChunks(planned.chunks)
        let largest = CheckpointLimits.largestPosition(try model.positions(input))
        var options = GenerationOptions(maxNewTokens: 1, sampling: SamplingOptions(greedy: true))
        options.prefillChunk = planned.chunks.prefillChunk
        // Each run on its own: the arena and scratch an earlier (longer or shorter) run grew are freed first.
        model.executor.releaseBuffers()
        let memory = model.executor.device.memory
        memory.resetPeaks()
        let t = try BenchTiming.time { _ = try model.generate(input: input, options: options) }
        let peak = memory.report().peakTotal
        let describe = "tokens \(input.ids.count) (video \(input.ids.filter { $0 == model.config.thinker.videoTokenID }.count), "
            + "audio \(input.ids.filter { $0 == model.config.thinker.audioTokenID }.count)), largest position \(largest), "
            + "chunks \(planned.chunks), planned activations \(ByteCount(planned.total))"
        return (t, peak, describe)
    }
}
