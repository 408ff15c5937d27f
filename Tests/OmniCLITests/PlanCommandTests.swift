import Foundation
import OmniCore
import Qwen25Omni
import OmniTestSupport
import XCTest
@testable import omni

/// `omni plan` on the fixture folder, through the registry's safetensors reader (headers only).
final class PlanCommandTests: XCTestCase {
    func parse(_ args: [String]) throws -> PlanCommand {
        try PlanCommand.parse([Fixtures.tinyModel.path] + args)
    }

    func testPlansTheFixtureAndPrintsEveryComponent() throws {
        let plan = try parse(["--all-components", "--max-memory", "cpu=60MiB", "--max-new-tokens", "8"]).makePlan()
        XCTAssertEqual(plan.units.count, 16)
        XCTAssertEqual(plan.units.flatMap(\.tensorNames).count, 661)
        for c in ["thinker", "audio_tower", "vision_tower", "talker", "token2wav", "KV cache", "totals per device"] {
            XCTAssertTrue(plan.report.contains(c), c)
        }
    }

    func testPlansChunksForLongInputsUnderABudget() throws {
        let long = ["--no-audio-output", "--prompt-tokens", "300", "--audio-seconds", "20", "--video-seconds", "6",
                    "--video-frame-pixels", "12544", "--max-new-tokens", "16"]
        let free = try parse(long).makePlan()
        XCTAssertEqual(free.estimates.thinker.chunks, ChunkSizes())
        let tight = try parse(long + ["--max-memory", "cpu=\(free.cpuPeak - 1)"]).makePlan()
        XCTAssertNotEqual(tight.estimates.thinker.chunks, ChunkSizes(), tight.report)
        XCTAssertLessThan(tight.cpuPeak, free.cpuPeak)
        XCTAssertTrue(tight.report.contains("chunks: prefill "), tight.report)
        XCTAssertTrue(tight.report.contains("activations, audio tower: "), tight.report)
        // Given sizes override the planner.
        let given = try parse(long + ["--max-memory", "cpu=\(free.cpuPeak - 1)", "--prefill-chunk", "9", "--audio-windows", "2",
                                      "--vision-slices", "3"]).makePlan()
        XCTAssertEqual(given.estimates.thinker.chunks, ChunkSizes(prefillChunk: 9, audioWindows: 2, visionSlices: 3))
        XCTAssertThrowsError(try parse(long + ["--video-frame-pixels", "100"])) { e in
            XCTAssertTrue(PlanCommand.message(for: e).contains("--video-frame-pixels"), PlanCommand.message(for: e))
        }
    }

    func testExplicitMapAndRefusal() throws {
        let plan = try parse(["--all-components", "--device-map", "thinker=cpu,talker=disk,token2wav=disk", "--max-new-tokens", "8"])
            .makePlan()
        XCTAssertEqual(plan.placement.device(for: "talker.codec_head.weight"), .disk)
        XCTAssertGreaterThan(plan.pagingReserve, 0)
        XCTAssertThrowsError(try parse(["--all-components", "--max-memory", "cpu=1MiB,disk=100KiB", "--no-audio-output",
                                        "--prompt-tokens", "16", "--max-new-tokens", "16"]).makePlan()) { e in
            XCTAssertTrue("\(e)".contains("smallest budget that would work: --max-memory cpu="), "\(e)")
        }
        XCTAssertThrowsError(try parse(["--device-map", "a=b=c"])) { e in
            XCTAssertTrue(PlanCommand.message(for: e).contains("--device-map"), PlanCommand.message(for: e))
        }
    }
}

/// Without `--all-components`, the plan covers what this version loads, so it matches `generate`.
final class PlanBuiltComponentsTests: XCTestCase {
    func testDefaultPlanCoversOnlyBuiltComponents() throws {
        let plan = try PlanCommand.parse([Fixtures.tinyModel.path, "--max-new-tokens", "8"]).makePlan()
        XCTAssertEqual(Set(plan.units.map(\.component)), [.thinker, .audioTower, .visionTower, .talker, .token2wav])
        XCTAssertFalse(plan.report.contains("not loaded:"), plan.report)
        let textOnly = try PlanCommand.parse([Fixtures.tinyModel.path, "--no-audio-output"]).makePlan()
        XCTAssertEqual(Set(textOnly.units.map(\.component)), [.thinker, .audioTower, .visionTower])
    }

    func testTalkerWeightsAndKVCacheFollowTheRealLengths() throws {
        let c = try OmniConfig.load(directory: Fixtures.tinyModel)
        let tk = try XCTUnwrap(c.talker)
        let plan = try PlanCommand.parse([Fixtures.tinyModel.path, "--prompt-tokens", "100", "--max-new-tokens", "8",
                                          "--talker-max-new-tokens", "300"]).makePlan()
        // KV cache rows: prompt 100 + speaker BOS + first reply row + 300 codes, f32 K and V per layer.
        XCTAssertEqual(plan.estimates.talkerKVCache, tk.layers * 2 * tk.kvHeads * tk.headDim * (100 + 2 + 300) * 4)
        let talkerBytes = plan.units.filter { $0.component == .talker }.reduce(0) { $0 + $1.unit.bytes }
        let expected = TalkerModel(config: tk).expectedWeights().values.reduce(0) { $0 + $1.elementCount * 2 }  // bf16
        XCTAssertEqual(talkerBytes, expected)
        XCTAssertTrue(plan.report.contains("300 talker codes"), plan.report)
        XCTAssertThrowsError(try PlanCommand.parse([Fixtures.tinyModel.path, "--talker-max-new-tokens", "0"])) {
            XCTAssertTrue(PlanCommand.message(for: $0).contains("1 … 1000000"), PlanCommand.message(for: $0))
        }
    }
}
