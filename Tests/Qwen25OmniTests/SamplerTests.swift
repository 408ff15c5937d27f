import Foundation
import OmniCore
@testable import Qwen25Omni
import XCTest

final class SamplerTests: XCTestCase {
    func testGreedyPicksArgmaxWithLowestIDOnTies() {
        var s = Sampler(options: SamplingOptions())
        XCTAssertEqual(s.next(logits: [0.1, 3, -1, 3, 2], history: [], generatedCount: 0, eos: []), 1)
        XCTAssertEqual(s.next(logits: [-5, -2, -3], history: [], generatedCount: 0, eos: []), 1)
        XCTAssertEqual(s.next(logits: [.nan, 1, 2], history: [], generatedCount: 0, eos: []), 2)
    }

    func testRepetitionPenaltySemantics() {
        let s = Sampler(options: SamplingOptions(repetitionPenalty: 2))
        var scores: [Float] = [4, -4, 4, -4, 0]
        // Token 0 twice in the history is penalized once, as HF's gather/scatter does.
        s.process(&scores, history: [0, 1, 0, 4], generatedCount: 0, eos: [])
        XCTAssertEqual(scores, [2, -8, 4, -4, 0])
        // The penalty can move the argmax.
        var g = Sampler(options: SamplingOptions(repetitionPenalty: 2))
        XCTAssertEqual(g.next(logits: [3, 2], history: [0], generatedCount: 0, eos: []), 1)
    }

    func testMinNewTokensSuppressesEOS() {
        var s = Sampler(options: SamplingOptions(minNewTokens: 2))
        let logits: [Float] = [0, 5, 1]
        XCTAssertEqual(s.next(logits: logits, history: [], generatedCount: 0, eos: [1]), 2)
        XCTAssertEqual(s.next(logits: logits, history: [], generatedCount: 1, eos: [1]), 2)
        XCTAssertEqual(s.next(logits: logits, history: [], generatedCount: 2, eos: [1]), 1)
    }

    func testSuppressedTokensAreNeverChosenGreedyOrSampled() {
        var g = Sampler(options: SamplingOptions(repetitionPenalty: 1.05))
        XCTAssertEqual(g.next(logits: [1, 9, 2], history: [], generatedCount: 0, eos: [], suppressed: [1]), 2)
        var s = Sampler(options: .talker(seed: 3))
        let logits: [Float] = [1, 9, 8.9, 8.8, 0]
        var seen = Set<Int>()
        for _ in 0..<300 { seen.insert(s.next(logits: logits, history: [], generatedCount: 0, eos: [], suppressed: [1])) }
        XCTAssertFalse(seen.contains(1))
        XCTAssertTrue(seen.isSuperset(of: [2, 3]), "\(seen)")
    }

    func testTopKRestrictsSupport() {
        var s = Sampler(options: SamplingOptions(greedy: false, temperature: 5, topK: 3, seed: 7))
        let logits: [Float] = [1, 9, 2, 8, 3, 7, 0, 6]
        var seen = Set<Int>()
        for _ in 0..<500 { seen.insert(s.next(logits: logits, history: [], generatedCount: 0, eos: [])) }
        XCTAssertEqual(seen, [1, 3, 5])
    }

    func testTopKKeepsTies() {
        let s = Sampler(options: SamplingOptions(greedy: false, topK: 2))
        XCTAssertEqual(Set(s.warp([1, 5, 3, 3, 0]).map(\.id)), [1, 2, 3])
    }

    func testTopPRestrictsSupport() {
        // Probabilities ≈ 0.64, 0.24, 0.09, 0.03: top-p 0.8 keeps the first two (0.64 alone is not enough).
        let logits: [Float] = [3, 2, 1, 0].map { $0 * 1 }
        let warper = Sampler(options: SamplingOptions(greedy: false, topP: 0.8))
        XCTAssertEqual(Set(warper.warp(logits).map(\.id)), [0, 1])
        var s = Sampler(options: SamplingOptions(greedy: false, topP: 0.8, seed: 3))
        var seen = Set<Int>()
        for _ in 0..<500 { seen.insert(s.next(logits: logits, history: [], generatedCount: 0, eos: [])) }
        XCTAssertEqual(seen, [0, 1])
        // top-p always keeps at least the most likely token.
        let tiny = Sampler(options: SamplingOptions(greedy: false, topP: 0.01))
        XCTAssertEqual(tiny.warp(logits).map(\.id), [0])
    }

    func testSameSeedSameSequenceAndDifferentSeedsDiffer() {
        let logits: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        func run(_ seed: UInt64) -> [Int] {
            var s = Sampler(options: SamplingOptions(greedy: false, temperature: 1.5, topK: 20, topP: 0.95,
                                                     repetitionPenalty: 1.1, seed: seed))
            var history: [Int] = []
            for i in 0..<40 { history.append(s.next(logits: logits, history: history, generatedCount: i, eos: [])) }
            return history
        }
        XCTAssertEqual(run(42), run(42))
        XCTAssertNotEqual(run(42), run(43))
    }

    func testSamplingFollowsTheDistribution() {
        // logits log(0.75), log(0.25): about three quarters of draws pick id 0.
        var s = Sampler(options: SamplingOptions(greedy: false, seed: 11))
        let logits: [Float] = [logf(0.75), logf(0.25)]
        var zeros = 0
        for _ in 0..<2000 where s.next(logits: logits, history: [], generatedCount: 0, eos: []) == 0 { zeros += 1 }
        XCTAssertEqual(Double(zeros) / 2000, 0.75, accuracy: 0.04)
    }
}

extension SamplerTests {
    func testValidationNamesTheFlag() {
        XCTAssertNoThrow(try SamplingOptions.talker().validate())
        let bad: [(SamplingOptions, String)] = [
            (SamplingOptions(temperature: 0), "--temperature"), (SamplingOptions(topK: -1), "--top-k"),
            (SamplingOptions(topP: 0), "--top-p"), (SamplingOptions(topP: 1.5), "--top-p"),
            (SamplingOptions(repetitionPenalty: 0), "--repetition-penalty"),
            (SamplingOptions(minNewTokens: -2), "--min-new-tokens"),
        ]
        for (options, flag) in bad {
            XCTAssertThrowsError(try options.validate()) { error in
                guard case let OmniError.invalidArgument(name, _, _)? = error as? OmniError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(name, flag)
            }
        }
    }
}
