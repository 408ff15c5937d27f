import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The planner's activation figures (issue 14) against what the executor really allocates, phase by phase and for
/// whole generations, on every fixture checkpoint with both attention backends; and its choice of chunk sizes
/// under a budget, in the library, in `LoadPlan` and for a real input.
final class ActivationPlannerTests: XCTestCase {
    let threads = ProcessInfo.processInfo.activeProcessorCount

    /// A model on a fresh executor (fresh memory accounting).
    func load(_ c: Fixtures.Checkpoint, attention: String, maxMemory: [DeviceID: Int] = [:]) throws -> (OmniModel, Executor) {
        let registry = BuiltinPlugins.registry(), executor = Executor(registry: registry, threads: threads)
        var options = LoadOptions(attention: attention, maxMemory: maxMemory)
        options.plannedInput = InputSize(textTokens: 1, maxNewTokens: 1)   // the load's own plan stays small
        let model = try OmniModel.fromPretrained(c.model.path, options: options, registry: registry, executor: executor)
        return (model, executor)
    }

    func planner(_ model: OmniModel, _ workload: Workload) throws -> ActivationPlanner {
        let s = model.weights.source
        return try ActivationPlanner(config: model.config, workload: workload, options: model.options, registry: model.registry,
                                 infos: s.names.compactMap { s.info($0) }, threads: threads,
                                 components: Set(model.plan.units.map(\.component)))
    }

    /// Executor activations + scratch at peak.
    func measured(_ executor: Executor) -> Int {
        let peak = executor.memoryReport().peak
        return (peak[.activations] ?? 0) + (peak[.scratch] ?? 0)
    }

    func planned(_ model: OmniModel, _ workload: Workload, _ chunks: ChunkSizes, _ phase: String) throws -> RunMemory {
        try XCTUnwrap(try planner(model, workload).plan(chunks).phases.first { $0.name == phase }?.memory, phase)
    }

    func testEveryPhaseIsPlannedToTheByte() throws {
        for c in Fixtures.checkpoints {
            for attention in ["eager", "flash_attention_2"] {
                for (tokens, chunk) in [(40, nil), (100, nil), (100, 16), (100, 64), (37, 5)] as [(Int, Int?)] {
                    let (model, executor) = try load(c, attention: attention)
                    let session = try model.newSession(capacity: tokens)
                    let vocab = model.config.thinker.text.vocabSize
                    try session.prefill(ids: (0..<tokens).map { ($0 * 7919 + 13) % vocab }, chunk: chunk)
                    let plan = try planned(model, Workload(promptTokens: tokens, newTokens: 1), ChunkSizes(prefillChunk: chunk),
                                           "thinker prefill")
                    XCTAssertEqual(measured(executor), plan.total, "\(c) \(attention) prefill \(tokens) in \(String(describing: chunk))")
                }
                let (m0, _) = try load(c, attention: attention)
                let audio = try XCTUnwrap(m0.audio)
                let frames = 3 * audio.chunkFrames + 37, bins = audio.config.melBins
                for windows in [nil, 1, 2] as [Int?] {
                    let (model, executor) = try load(c, attention: attention)
                    model.audioWindowsPerRun = windows
                    _ = try model.encodeAudio(features: Tensor((0..<(bins * frames)).map { Float(sin(Double($0) * 0.013)) },
                                                               shape: [bins, frames]),
                                              mask: Tensor(int64: [Int64](repeating: 1, count: frames), shape: [frames]))
                    let plan = try planned(model, Workload(promptTokens: 1, newTokens: 1, audioFrames: [frames]),
                                           ChunkSizes(audioWindows: windows), "audio tower")
                    XCTAssertEqual(measured(executor), plan.total, "\(c) \(attention) audio \(String(describing: windows))")
                }
                let v = m0.config.thinker.vision, m = v.spatialMergeSize
                let grid = VisionEncoder.Grid(t: 5, h: 2 * m, w: 3 * m)
                let width = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize
                for slices in [nil, 2, 5] as [Int?] {
                    let (model, executor) = try load(c, attention: attention)
                    model.visionSlicesPerRun = slices
                    _ = try model.encodeVision(pixels: Tensor((0..<(grid.patches * width)).map { Float(cos(Double($0) * 0.07)) },
                                                              shape: [grid.patches, width]), grids: [grid])
                    let plan = try planned(model, Workload(promptTokens: 1, newTokens: 1, videoGrids: [grid]),
                                           ChunkSizes(visionSlices: slices), "vision tower, video")
                    XCTAssertEqual(measured(executor), plan.total, "\(c) \(attention) vision \(String(describing: slices))")
                }
            }
        }
    }

    func testWholeGenerationIsPlannedToTheByte() throws {
        // Towers, embedding lookup, chunked prefill and decode on one executor: its buffers end at the planned union.
        for c in Fixtures.checkpoints {
            for k in try ChunkedPrefillTests.cases(c) where k.input.hasFeatures {
                for chunks in [ChunkSizes(), ChunkSizes(prefillChunk: 16, audioWindows: 1, visionSlices: 1)] {
                    let (model, executor) = try load(c, attention: "flash_attention_2")
                    let plan = try model.plannedChunks(for: k.input, maxNewTokens: 4, requested: chunks)
                    XCTAssertEqual(plan.chunks, chunks, "no budget: what was asked, else whole")
                    model.useTowerChunks(plan.chunks)
                    let tokens = try model.generate(input: k.input, options: GenerationOptions(
                        maxNewTokens: 4, sampling: SamplingOptions(greedy: true, minNewTokens: 4), prefillChunk: plan.chunks.prefillChunk))
                    XCTAssertEqual(tokens, Array(k.generated.prefix(4)), "\(c) \(k.name)")
                    XCTAssertEqual(measured(executor), plan.total, "\(c) \(k.name) \(chunks)")
                    XCTAssertEqual(plan.promptRows, k.input.ids.count * model.config.thinker.text.hiddenSize * 4)
                }
            }
        }
    }

    func testChoosesTheLargestChunksThatFit() throws {
        let (model, _) = try load(Fixtures.checkpoints[0], attention: "flash_attention_2")
        let vision = model.config.thinker.vision, m = vision.spatialMergeSize
        let work = Workload(promptTokens: 900, newTokens: 8, audioFrames: [20 * model.config.thinker.audio.nWindow * 2],
                            videoGrids: [VisionEncoder.Grid(t: 12, h: 4 * m, w: 4 * m)])
        let p = try planner(model, work)
        let whole = p.choose(budget: nil)
        XCTAssertEqual(whole.chunks, ChunkSizes())
        let small = p.smallest()
        XCTAssertEqual(small.chunks, ChunkSizes(prefillChunk: ActivationPlanner.minimumPrefillChunk, audioWindows: 1, visionSlices: 1))
        XCTAssertLessThan(small.total, whole.total)
        // A budget between: every dimension is as large as fits (the next candidate up would not).
        let budget = (small.total + whole.total) / 2
        let r = p.choose(budget: budget)
        XCTAssertLessThanOrEqual(r.total, budget)
        XCTAssertEqual(p.plan(r.chunks).total, r.total)
        func doubled(_ n: Int?) -> Int? { n.map { $0 * 2 } }
        for bigger in [ChunkSizes(prefillChunk: doubled(r.chunks.prefillChunk), audioWindows: r.chunks.audioWindows, visionSlices: r.chunks.visionSlices),
                       ChunkSizes(prefillChunk: r.chunks.prefillChunk, audioWindows: doubled(r.chunks.audioWindows), visionSlices: r.chunks.visionSlices),
                       ChunkSizes(prefillChunk: r.chunks.prefillChunk, audioWindows: r.chunks.audioWindows, visionSlices: doubled(r.chunks.visionSlices))]
        where bigger != r.chunks {
            // A doubled candidate past the input is the whole input; either way it must not fit.
            XCTAssertGreaterThan(p.plan(bigger).total, budget, "\(bigger) fits \(budget) but \(r.chunks) was chosen")
        }
        XCTAssertNotEqual(r.chunks, whole.chunks)
        // What is asked for is kept, even past the budget.
        let fixed = p.choose(requested: ChunkSizes(prefillChunk: 7, visionSlices: 12), budget: small.total)
        XCTAssertEqual(fixed.chunks.prefillChunk, 7)
        XCTAssertEqual(fixed.chunks.visionSlices, 12)
        XCTAssertEqual(fixed.chunks.audioWindows, 1)
    }

    func testLoadPlanPicksChunksForItsBudgetAndGenerationFollows() throws {
        let registry = BuiltinPlugins.registry()
        let c = Fixtures.checkpoints[0]
        let config = try OmniConfig.load(directory: c.model)
        let infos = try HeaderOnlySafetensors.infos(folder: c.model)
        let input = InputSize(textTokens: 300, audioSeconds: 20, videoSeconds: 6, videoFramePixels: 112 * 112, maxNewTokens: 16)
        func plan(_ cpu: Int?, _ chunks: ChunkSizes = ChunkSizes()) throws -> LoadPlan {
            var o = LoadOptions(maxMemory: cpu.map { [.cpu: $0] } ?? [:], enableAudioOutput: false)
            o.chunks = chunks
            return try LoadPlan.make(directory: nil, config: config, infos: infos, options: o, input: input, registry: registry)
        }
        let free = try plan(nil)
        XCTAssertEqual(free.estimates.thinker.chunks, ChunkSizes())
        XCTAssertTrue(free.report.contains("chunks: prefill one step, audio one run, vision one run"), free.report)
        // One byte less than the one-shot plan needs: the weights stay on the cpu and something is chunked.
        let tight = try plan(free.cpuPeak - 1)
        XCTAssertEqual(tight.weightBytes(on: .disk), 0)
        XCTAssertNotEqual(tight.estimates.thinker.chunks, ChunkSizes())
        XCTAssertLessThanOrEqual(tight.cpuPeak, free.cpuPeak - 1, tight.report)
        XCTAssertTrue(tight.report.contains("activations, vision tower, video"), tight.report)
        XCTAssertEqual(try plan(free.cpuPeak - 1, ChunkSizes(prefillChunk: 33)).estimates.thinker.chunks.prefillChunk, 33)
        if ProcessInfo.processInfo.environment["OMNI_PRINT_PLAN"] != nil { print(tight.report) }

        // A real input under a cpu budget that does not hold its one-shot activations: planned chunks, same tokens.
        let k = try XCTUnwrap(try ChunkedPrefillTests.cases(c).first { $0.name == "video_audio" })
        let (probe, _) = try load(c, attention: "flash_attention_2")
        let whole = try probe.plannedChunks(for: k.input, maxNewTokens: 4)
        let small = try planner(probe, try Workload(k.input, newTokens: 4)).smallest()
        XCTAssertLessThan(small.total, whole.total)
        let t = probe.config.thinker.text
        let kv = t.layers * 2 * t.kvHeads * t.headDim * (k.input.ids.count + 4) * 4
        let weights = probe.plan.weightBytes(on: .cpu)
        let cpu = weights + kv + whole.promptRows + whole.total - 1
        let (model, executor) = try load(c, attention: "flash_attention_2", maxMemory: [.cpu: cpu])
        XCTAssertEqual(model.plan.weightBytes(on: .cpu), weights)
        XCTAssertEqual(model.plan.pagingReserve, 0)
        let chosen = try model.plannedChunks(for: k.input, maxNewTokens: 4)
        XCTAssertNotEqual(chosen.chunks, ChunkSizes(), "one run does not fit by a byte")
        XCTAssertLessThanOrEqual(chosen.total, whole.total - 1)
        model.useTowerChunks(chosen.chunks)
        let tokens = try model.generate(input: k.input, options: GenerationOptions(
            maxNewTokens: 4, sampling: SamplingOptions(greedy: true, minNewTokens: 4), prefillChunk: chosen.chunks.prefillChunk))
        XCTAssertEqual(tokens, Array(k.generated.prefix(4)))
        XCTAssertEqual(measured(executor), chosen.total)
    }
}
