import OmniCore
import XCTest

/// Plan caches are keyed by graph: a copy of a graph must be found in O(1), an equal graph built again must be found
/// at all (and then moved under the new key), and a changed graph must not be found.
final class GraphIdentityTests: XCTestCase {
    private func build(width: Int = 8) -> Graph {
        var g = Graph()
        let x = g.input("x", shape: [1, width])
        let w = g.weight("w", shape: [width, width])
        g.markOutput(g.linear(x, w, bias: nil, name: "y"))
        return g
    }

    func testCopiesAreTheSameInstanceAndRebuiltGraphsAreOnlyEqual() {
        let a = build(), copy = a, rebuilt = build()
        XCTAssertTrue(a.isSameInstance(as: copy))
        XCTAssertEqual(a, rebuilt)
        XCTAssertFalse(a.isSameInstance(as: rebuilt))
        var grown = a
        _ = grown.input("z", shape: [1])
        XCTAssertFalse(a.isSameInstance(as: grown))
        XCTAssertNotEqual(a, grown)
        XCTAssertNotEqual(a, build(width: 16))
    }

    func testAdoptingKeyMovesTheEntryUnderTheNewInstance() {
        let first = build(), second = build()
        var cache: [Graph: String] = [first: "plan"]
        XCTAssertEqual(cache.value(adoptingKey: second, isSame: { $0.isSameInstance(as: $1) }), "plan")
        XCTAssertEqual(cache.count, 1)
        XCTAssertTrue(cache.keys.first!.isSameInstance(as: second), "the entry is now keyed by the graph that asked")
        XCTAssertNil(cache.value(adoptingKey: build(width: 16), isSame: { $0.isSameInstance(as: $1) }))
        XCTAssertEqual(cache.count, 1)
    }
}
