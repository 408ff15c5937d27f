import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// A registered backend that cannot honour causal masks is never given a causal call: selection falls back to
/// eager, says why, and the tokens are eager's.
final class AttentionFallbackTests: XCTestCase {
    struct NonCausal: AttentionBackend {
        var name: String { "noncausal" }
        var capabilities: AttentionCapabilities {
            AttentionCapabilities(dtypes: [.f32], maxHeadDim: 256, maskKinds: [.segments], groupedQuery: true)
        }
        func scratchBytes(for shape: AttentionShape, threads: Int) -> Int { 0 }
        func run(_ call: AttentionCall) throws { XCTFail("a causal call reached a backend without causal support") }
    }

    func testFallbackIsLoggedAndCausalityKept() throws {
        var registry = BuiltinPlugins.registry()
        registry.register(NonCausal())
        let exec = { Executor(registry: registry) }
        let custom = try OmniModel.fromPretrained(Fixtures.tinyModel.path, options: LoadOptions(attention: "noncausal"),
                                                  registry: registry, executor: exec())
        let eager = try OmniModel.fromPretrained(Fixtures.tinyModel.path, options: LoadOptions(attention: "eager"),
                                                 registry: registry, executor: exec())
        let ids = custom.chatPrompt("hi")
        XCTAssertEqual(try custom.generate(ids: ids, options: GenerationOptions(maxNewTokens: 4)),
                       try eager.generate(ids: ids, options: GenerationOptions(maxNewTokens: 4)))
        XCTAssertTrue(custom.attentionFallbacks.contains { $0.contains("noncausal → eager: causal mask not supported") },
                      "\(custom.attentionFallbacks)")
        XCTAssertTrue(eager.attentionFallbacks.isEmpty)
    }
}
