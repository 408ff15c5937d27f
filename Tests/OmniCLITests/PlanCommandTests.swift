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
        XCTAssertEqual(Set(plan.units.map(\.component)), [.thinker, .audioTower, .visionTower])
        XCTAssertTrue(plan.report.contains("not loaded: talker, token2wav"), plan.report)
    }
}
