@testable import OmniCore
import XCTest

/// `AttentionMask.keyRange` against the definition: the keys a query sees under causal, window and segment masking,
/// found by testing every key. The segment lookup is a binary search; this pins it to the definition on random
/// boundaries, offsets and windows, including empty segments and queries past the last boundary.
final class AttentionMaskRangeTests: XCTestCase {
    func testKeyRangeEqualsTheDefinitionOnRandomMasks() {
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<300 {
            let q = Int.random(in: 1...70, using: &rng)
            var segments: [Int]? = nil
            if trial % 3 != 0 {
                var b = [0]
                while b.last! < q { b.append(min(q, b.last! + Int.random(in: 0...9, using: &rng))) }
                if trial % 5 == 0 { b.removeLast() }   // queries past the last boundary: not clamped
                segments = b
            }
            let offset = trial % 4 == 0 ? Int.random(in: 0...20, using: &rng) : 0
            let keys = q + offset
            let mask = AttentionMask(causal: trial % 2 == 0, keyOffset: offset, segments: segments,
                                     window: trial % 7 == 0 ? Int.random(in: 1...12, using: &rng) : nil)
            for i in 0..<q {
                var want = (0..<keys).filter { k in
                    if mask.causal && k > offset + i { return false }
                    if let w = mask.window, k < offset + i - w + 1 { return false }
                    return true
                }
                if let seg = segments, let s = (0..<(seg.count - 1)).last(where: { seg[$0] <= i }), i < seg[seg.count - 1] {
                    want = want.filter { $0 >= seg[s] && $0 < seg[s + 1] }
                }
                let got = mask.keyRange(query: i, keyLength: keys)
                if want.isEmpty {
                    XCTAssertTrue(got.isEmpty, "trial \(trial), query \(i): \(got) for \(mask)")
                } else {
                    XCTAssertEqual(got, want.first!..<(want.last! + 1), "trial \(trial), query \(i), segments \(segments ?? [])")
                }
            }
        }
    }
}
