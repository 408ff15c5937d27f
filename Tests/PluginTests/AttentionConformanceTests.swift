import AttentionEager
import AttentionFlash2
import BuiltinPlugins
import OmniCore
import OmniTestSupport
import XCTest

/// Runs the attention conformance suite against every registered backend, with eager as the oracle.
final class AttentionConformanceTests: XCTestCase {
    func testEveryRegisteredBackendMatchesEagerAndTheDefinition() throws {
        let registry = BuiltinPlugins.registry()
        let oracle = try registry.attention(named: "eager")
        XCTAssertGreaterThanOrEqual(registry.attentionBackends.count, 2)
        for backend in registry.attentionBackends {
            let (failures, ran) = try AttentionConformance.check(backend, oracle: oracle)
            XCTAssertEqual(ran, AttentionConformance.problems().count, "\(backend.name) skipped problems")
            XCTAssertTrue(failures.isEmpty, failures.prefix(5).joined(separator: "\n"))
        }
    }

    func testFlashWithSmallTilesStillConforms() throws {
        // Tiny tiles force many tiles and query blocks per problem, exercising the online-softmax rescaling.
        let (failures, ran) = try AttentionConformance.check(FlashAttention2(queryBlock: 3, keyBlock: 5),
                                                             oracle: EagerAttention())
        XCTAssertGreaterThan(ran, 0)
        XCTAssertTrue(failures.isEmpty, failures.prefix(5).joined(separator: "\n"))
    }

    func testFlashScratchIsConstantInLengthAndEagerQuadratic() {
        let f = FlashAttention2(), e = EagerAttention()
        let s1 = AttentionShape(queryLength: 1024, keyLength: 1024, heads: 14, kvHeads: 2, headDim: 64)
        let s8 = AttentionShape(queryLength: 8192, keyLength: 8192, heads: 14, kvHeads: 2, headDim: 64)
        XCTAssertEqual(f.scratchBytes(for: s1, threads: 2), f.scratchBytes(for: s8, threads: 2))
        XCTAssertLessThan(Double(f.scratchBytes(for: s8, threads: 2)), 0.05 * Double(e.scratchBytes(for: s8, threads: 2)))
    }
}
