import BuiltinPlugins
import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Units, dtype bytes, estimates and placement from the fixture's real tensor headers.
final class LoadPlanTests: XCTestCase {
    static let infos: [TensorInfo] = (try? HeaderOnlySafetensors.infos(folder: Fixtures.tinyModel)) ?? []
    /// Elements over all tensors, and over token2wav (checked independently with a Python header read).
    static let allElements = 2_554_032, token2wavElements = 708_656

    var config: OmniConfig { get throws { try OmniConfig.load(directory: Fixtures.tinyModel) } }
    let registry = BuiltinPlugins.registry()

    func plan(_ options: LoadOptions = LoadOptions(), input: InputSize = InputSize()) throws -> LoadPlan {
        try LoadPlan.make(directory: nil, config: config, infos: Self.infos, options: options, input: input,
                          registry: registry)
    }

    func testUnitsCoverEveryTensorOnceInModelOrder() throws {
        XCTAssertEqual(Self.infos.count, 661)
        let p = try plan()
        XCTAssertEqual(p.units.map(\.unit.prefix), [
            "thinker.model.embed_tokens", "thinker.model.layers.0", "thinker.model.layers.1", "thinker.model.norm",
            "thinker.lm_head", "thinker.audio_tower", "thinker.audio_tower.layers.0", "thinker.audio_tower.layers.1",
            "thinker.visual", "thinker.visual.blocks.0", "thinker.visual.blocks.1", "talker", "talker.model.layers.0",
            "talker.model.layers.1", "token2wav.code2wav_dit_model", "token2wav.code2wav_bigvgan_model",
        ])
        let names = p.units.flatMap(\.tensorNames)
        XCTAssertEqual(names.count, 661)
        XCTAssertEqual(Set(names).count, 661)
        for u in p.units {
            for n in u.tensorNames { XCTAssertEqual(p.placement.device(for: n), p.placement.device(for: u.unit.prefix)) }
        }
        XCTAssertEqual(p.units.first { $0.unit.prefix == "thinker.visual" }?.tensorNames.count, 6)
        XCTAssertEqual(p.units.filter { $0.unit.tiedGroup == "thinker.head" }.map(\.unit.prefix),
                       ["thinker.model.norm", "thinker.lm_head"])
    }

    func testBytesFollowTheDTypePolicy() throws {
        let auto = try plan()
        let stored = auto.units.reduce(0) { $0 + $1.storedBytes }
        XCTAssertEqual(stored, Self.allElements * 2, "bf16 checkpoint")
        XCTAssertEqual(auto.units.reduce(0) { $0 + $1.unit.bytes },
                       (Self.allElements - Self.token2wavElements) * 2 + Self.token2wavElements * 4,
                       "auto keeps bf16; token2wav runs in f32")
        let f32 = try plan(LoadOptions(dtype: DTypePolicy(.f32)))
        XCTAssertEqual(f32.units.reduce(0) { $0 + $1.unit.bytes }, Self.allElements * 4)
        let mixed = try plan(LoadOptions(dtype: DTypePolicy(perComponent: [.audioTower: .f32])))
        let audio = mixed.units.filter { $0.component == .audioTower }
        XCTAssertEqual(audio.reduce(0) { $0 + $1.unit.bytes }, audio.reduce(0) { $0 + $1.storedBytes } * 2)
        let q8 = try plan(LoadOptions(dtype: DTypePolicy(.q8_0)))
        let layer = try XCTUnwrap(q8.units.first { $0.unit.prefix == "thinker.model.layers.0" })
        XCTAssertLessThan(layer.unit.bytes, layer.storedBytes, "q8_0 matrices are smaller than bf16")
        XCTAssertEqual(q8.units.filter { $0.component == .token2wav }.reduce(0) { $0 + $1.unit.bytes },
                       Self.token2wavElements * 4, "token2wav stays f32")
    }

    func testAudioOutputOffDropsTalkerAndToken2wav() throws {
        let p = try plan(LoadOptions(enableAudioOutput: false))
        XCTAssertEqual(p.units.count, 11)
        XCTAssertFalse(p.units.contains { $0.component == .talker || $0.component == .token2wav })
        XCTAssertEqual(p.skippedTensors.count, 5 + 24 + 79 + 449)
        XCTAssertEqual(p.estimates.talkerKVCache, 0)
        XCTAssertTrue(p.report.contains("audio output: off"), p.report)
    }

    func testKVCacheAndActivationFormulas() throws {
        let input = InputSize(textTokens: 100, maxNewTokens: 28)
        // An unregistered backend: the estimate uses the eager bound heads × T² × 4.
        let p = try plan(LoadOptions(attention: "unregistered", enableAudioOutput: false), input: input)
        // 2 layers × 2 (k, v) × 2 kv heads × 16 head dim × 128 tokens × 4 bytes.
        XCTAssertEqual(p.estimates.thinkerKVCache, 2 * 2 * 2 * 16 * 128 * 4)
        // The prefill phase is its graph's arena plus the scratch of the backend the chain ends on: the unregistered
        // backend falls back to eager, min(threads, heads) × 100 × 100 × 4.
        let threads = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertEqual(p.estimates.phases.map(\.name), ["thinker prefill", "thinker decode"])
        let graph = ThinkerTextModel(config: try config.thinker.text).graph(.init(tokens: 100, lastLogitsOnly: true))
        let prefill = p.estimates.thinker.phases[0].memory
        XCTAssertEqual(prefill.arena, ExecutionPlan(graph: graph).arenaBytes)
        XCTAssertEqual(prefill.attentionScratch, min(threads, 4) * 100 * 100 * 4)
        XCTAssertGreaterThan(prefill.panels.reduce(0, +), 0, "bf16 weights are widened in panels")
        XCTAssertEqual(p.estimates.activations, p.estimates.thinker.union.total)
        // A registered backend: its own scratch figure.
        let flash = try plan(LoadOptions(attention: "flash_attention_2", enableAudioOutput: false), input: input)
        let scratch = try registry.attention(named: "flash_attention_2").scratchBytes(
            for: AttentionShape(queryLength: 100, keyLength: 100, heads: 4, kvHeads: 2, headDim: 16), threads: threads)
        XCTAssertEqual(flash.estimates.thinker.phases[0].memory.attentionScratch, scratch)
        XCTAssertEqual(flash.estimates.thinker.phases[0].memory.arena, prefill.arena)
        let media = InputSize(textTokens: 50, audioSeconds: 2, videoSeconds: 3, imagePixels: 112 * 168,
                              maxNewTokens: 8)
        XCTAssertEqual(media.audioTokens, 52)
        XCTAssertEqual(media.imageTokens, 24 + 2)
        XCTAssertEqual(media.videoTokens, 3 * 768 + 2)
        let m = try plan(input: media)
        XCTAssertEqual(m.estimates.phases.map(\.name), ["audio tower", "vision tower, images", "vision tower, video",
                                                         "embedding lookup", "thinker prefill", "thinker decode",
                                                         "talker prefill", "token2wav DiT", "token2wav BigVGAN"])
        XCTAssertEqual(m.estimates.promptRows, media.promptTokens * 64 * 4)
        XCTAssertGreaterThan(m.estimates.talkerKVCache, 0)
    }

    func testTightCPUBudgetSpillsToDiskWithPagingReserve() throws {
        let input = InputSize(textTokens: 16, maxNewTokens: 16)
        let free = try plan(LoadOptions(enableAudioOutput: false), input: input)
        XCTAssertTrue(free.placement.assignments.allSatisfy { $0.device == .cpu })
        XCTAssertEqual(free.pagingReserve, 0)
        let runtime = free.estimates.kvCache + free.estimates.activations
        let cpu = runtime + 1_000_000
        let p = try plan(LoadOptions(maxMemory: [.cpu: cpu], enableAudioOutput: false), input: input)
        XCTAssertGreaterThan(p.weightBytes(on: .disk), 0)
        XCTAssertGreaterThan(p.pagingReserve, 0)
        XCTAssertLessThanOrEqual(p.cpuPeak, cpu, p.report)
        XCTAssertEqual(p.placement.device(for: "thinker.model.embed_tokens"), .cpu)
        XCTAssertTrue(p.report.contains("disk: weights"), p.report)
    }

    /// A plan for a compute GPU (`--device-map cuda:0`; no GPU is needed to plan): every weight, the KV cache and the
    /// activations are booked there and the chunks fit its budget; the cpu keeps only the prompt rows and what is
    /// placed on it; a budget too small for the GPU is refused naming it, with the budget that would fit.
    func testPlanForAComputeGPUBooksItsMemoryThereAndSizesChunksForIt() throws {
        let gpu = try XCTUnwrap(DeviceID(parsing: "cuda:0"))
        let input = InputSize(textTokens: 64, videoSeconds: 8, videoFramePixels: 112 * 112, maxNewTokens: 16)
        func gpuPlan(_ budget: Int?) throws -> LoadPlan {
            try LoadPlan.make(directory: nil, config: config, infos: Self.infos,
                              options: LoadOptions(maxMemory: budget.map { [gpu: $0] } ?? [:], enableAudioOutput: false),
                              input: input, registry: registry, computeDevice: gpu)
        }
        let whole = try gpuPlan(nil)
        let all = whole.units.reduce(0) { $0 + $1.unit.bytes }
        // Each run is sized as the CUDA executor allocates it (its plan, its kernels' scratch, uploaded inputs and
        // cuBLAS's workspace as staging); the cpu plan has no staging.
        XCTAssertGreaterThanOrEqual(whole.estimates.thinker.union.staging, 32 << 20)
        let cpuOnly = try LoadPlan.make(directory: nil, config: config, infos: Self.infos,
                                        options: LoadOptions(enableAudioOutput: false), input: input, registry: registry)
        XCTAssertEqual(cpuOnly.estimates.thinker.union.staging, 0)
        XCTAssertEqual(whole.residentWeightBytes(on: gpu), all)
        XCTAssertEqual(whole.computePeak, all + whole.estimates.kvCache + whole.estimates.activations)
        XCTAssertEqual(whole.cpuPeak, whole.weightBytes(on: .cpu) + whole.estimates.promptRows + whole.pagingReserve)
        XCTAssertTrue(whole.devices.contains(gpu))
        XCTAssertTrue(whole.report.contains("cuda:0 (runs every graph): weights"), whole.report)
        XCTAssertTrue(whole.report.contains("no cuda:0 budget"), whole.report)
        // A budget that leaves less than the whole run's activations: the chunks shrink to fit it (cuBLAS's 32 MiB
        // workspace does not shrink with them).
        let peak = try XCTUnwrap(whole.computePeak)
        let cut = (whole.estimates.activations - (32 << 20)) / 2
        let tight = try gpuPlan(peak - cut)
        XCTAssertLessThanOrEqual(try XCTUnwrap(tight.computePeak), peak - cut, tight.report)
        XCTAssertNotEqual(tight.estimates.thinker.chunks, whole.estimates.thinker.chunks, tight.report)
        XCTAssertTrue(tight.report.contains("fit the cuda:0 budget"), tight.report)
        XCTAssertThrowsError(try gpuPlan(all)) { e in
            guard case let .placement(_, reason, smallest)? = e as? OmniError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("cuda:0="), reason)
            XCTAssertTrue(smallest.first?.hasPrefix("--max-memory cuda:0=") == true, "\(smallest)")
        }
        // The bf16 mode keeps the GPU's KV cache in bf16 (half the bytes, as the executor allocates it); the cpu's
        // stays f32 in either mode.
        var bf16 = LoadOptions(enableAudioOutput: false)
        bf16.computePrecision = .bf16
        let narrow = try LoadPlan.make(directory: nil, config: config, infos: Self.infos, options: bf16, input: input,
                                       registry: registry, computeDevice: gpu)
        XCTAssertEqual(2 * narrow.estimates.thinkerKVCache, whole.estimates.thinkerKVCache)
        XCTAssertTrue(narrow.report.contains("2 B (bf16 cache)") || narrow.estimates.formulas[0].contains("2 B (bf16 cache)"),
                      narrow.estimates.formulas[0])
        let onCPU = try LoadPlan.make(directory: nil, config: config, infos: Self.infos, options: bf16, input: input,
                                      registry: registry)
        XCTAssertEqual(onCPU.estimates.thinkerKVCache, whole.estimates.thinkerKVCache)
    }

    func testRefusalGivesTheSmallestMaxMemoryThatWorks() throws {
        let input = InputSize(textTokens: 16, maxNewTokens: 16)
        let options = LoadOptions(maxMemory: [.cpu: 1_000_000, .disk: 10_000], enableAudioOutput: false)
        var suggestion: [String] = []
        XCTAssertThrowsError(try plan(options, input: input)) { e in
            guard case let .placement(_, _, smallest)? = e as? OmniError else { return XCTFail("\(e)") }
            suggestion = smallest
        }
        let cpuItem = try XCTUnwrap(suggestion.first { $0.contains("cpu=") }, "\(suggestion)")
        let bytes = try XCTUnwrap(Int(cpuItem.split(separator: "(").last?.split(separator: " ").first ?? ""))
        var ok = options
        ok.maxMemory[.cpu] = bytes
        XCTAssertNoThrow(try plan(ok, input: input))
        ok.maxMemory[.cpu] = bytes - 1
        XCTAssertThrowsError(try plan(ok, input: input))
        XCTAssertThrowsError(try plan(LoadOptions(maxMemory: [.cpu: 10]))) { e in
            XCTAssertTrue("\(e)".contains("does not hold the KV cache and activations"), "\(e)")
        }
    }

    func testExplicitDeviceMapNeedsAStrategyMaker() throws {
        let options = LoadOptions(deviceMap: .explicit(["": .cpu, "token2wav": .disk]))
        XCTAssertThrowsError(try plan(options)) { e in
            XCTAssertTrue("\(e)".contains("BuiltinPlugins.explicitPlacement"), "\(e)")
        }
        let p = try LoadPlan.make(directory: nil, config: config, infos: Self.infos, options: options,
                                  registry: registry, explicitPlacement: BuiltinPlugins.explicitPlacement(map:))
        XCTAssertEqual(p.placement.device(for: "token2wav.code2wav_dit_model.proj_out.weight"), .disk)
        XCTAssertEqual(p.placement.device(for: "talker.codec_head.weight"), .cpu)
        XCTAssertEqual(BuiltinPlugins.parseDeviceMap("thinker=cpu,talker=disk"), ["thinker": .cpu, "talker": .disk])
    }

    func testThinkerOnlyCheckpointAndUnknownTensors() throws {
        guard case var .object(thinker)? = try config.raw["thinker_config"] else { return XCTFail() }
        thinker["model_type"] = .string("qwen2_5_omni_thinker")
        let c = try OmniConfig(raw: .object(thinker))
        let infos = Self.infos.filter { $0.name.hasPrefix("thinker.") }.map { i -> TensorInfo in
            var j = i
            j.name = String(i.name.dropFirst("thinker.".count))
            return j
        }
        let p = try LoadPlan.make(directory: nil, config: c, infos: infos, options: LoadOptions(), registry: registry)
        XCTAssertEqual(p.units.first?.unit.prefix, "model.embed_tokens")
        XCTAssertEqual(p.units.count, 11)
        var extra = Self.infos
        extra.append(TensorInfo(name: "thinker.mystery.weight", dtype: .f32, shape: [1], file: "x", byteRange: 0..<4))
        XCTAssertThrowsError(try LoadPlan.make(directory: nil, config: config, infos: extra, options: LoadOptions(),
                                               registry: registry)) { e in
            XCTAssertEqual(e as? OmniError, .unusedTensors(keys: ["thinker.mystery.weight"]))
        }
    }

    func testReportShowsEveryComponent() throws {
        let p = try plan()
        let q = try plan(LoadOptions(maxMemory: [.cpu: 120_000_000]), input: InputSize(audioSeconds: 2))
        XCTAssertTrue(q.report.contains("activations, audio tower"), q.report)
        XCTAssertTrue(q.report.contains("cpu: weights") && q.report.contains("of 114.44 MiB"), q.report)
        if ProcessInfo.processInfo.environment["OMNI_PRINT_PLAN"] != nil { print(q.report) }
        for c in Component.allCases { XCTAssertTrue(p.report.contains(c.rawValue), c.rawValue) }
        XCTAssertTrue(p.report.contains("KV cache: thinker"), p.report)
        XCTAssertTrue(p.report.contains("estimates, not measurements"), p.report)
    }
}
