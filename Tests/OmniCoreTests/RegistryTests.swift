import Foundation
import OmniCore
import XCTest

/// An in-memory attention double: declares only causal masks.
struct CausalOnlyBackend: AttentionBackend {
    var name: String
    var capabilities: AttentionCapabilities {
        AttentionCapabilities(dtypes: [.f32], maxHeadDim: 256, maskKinds: [.causal], groupedQuery: true)
    }
    func scratchBytes(for shape: AttentionShape, threads: Int) -> Int { 0 }
    func run(_ call: AttentionCall) throws {}
}

struct NullConverter: DTypeConverter {
    var name = "null"
    var conversions: Set<DTypePair> { [DTypePair(.i8, .i8)] }
    func convert(_ src: UnsafeRawPointer, from: DType, to dst: UnsafeMutableRawPointer, _ to: DType, count: Int) {}
}

final class RegistryTests: XCTestCase {
    func testFailedLookupNamesWhatIsRegistered() {
        var r = PluginRegistry()
        r.register(CausalOnlyBackend(name: "mine"))
        r.register(CausalOnlyBackend(name: "other"))
        XCTAssertThrowsError(try r.attention(named: "flash")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("flash") && text.contains("mine") && text.contains("other"), text)
        }
        XCTAssertThrowsError(try r.converter(from: .f32, to: .q4_0)) { e in
            XCTAssertTrue("\(e)".contains("null") == false && "\(e)".contains("f32→q4_0"), "\(e)")
        }
        r.register(NullConverter())
        XCTAssertThrowsError(try r.converter(from: .f32, to: .q4_0)) { e in
            XCTAssertTrue("\(e)".contains("null (i8→i8)"), "\(e)")
        }
        XCTAssertThrowsError(try r.placement(named: "auto")) { e in
            XCTAssertTrue("\(e)".contains("(none)"), "\(e)")
        }
    }

    func testRegisteringSameNameReplacesInPlace() {
        var r = PluginRegistry()
        r.register(CausalOnlyBackend(name: "a"))
        r.register(CausalOnlyBackend(name: "b"))
        r.register(CausalOnlyBackend(name: "a"))
        XCTAssertEqual(r.attentionBackends.map(\.name), ["a", "b"])
    }

    func testSelectionFallsBackAndSaysWhy() throws {
        var r = PluginRegistry()
        r.register(CausalOnlyBackend(name: "fast"))
        let shape = AttentionShape(queryLength: 4, keyLength: 4, heads: 2, kvHeads: 1, headDim: 8)
        var mask = AttentionMask.causal()
        mask.segments = [0, 2, 4]
        XCTAssertThrowsError(try r.selectAttention(chain: ["fast"], shape: shape, mask: mask)) { e in
            XCTAssertTrue("\(e)".contains("segments mask not supported"), "\(e)")
        }
        let ok = try r.selectAttention(chain: ["fast"], shape: shape, mask: .causal(offset: 3))
        XCTAssertEqual(ok.backend.name, "fast")
        XCTAssertTrue(ok.log.isEmpty)
    }
}
