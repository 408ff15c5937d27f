import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The talker's input rows as `Qwen2_5OmniForConditionalGeneration.generate` lays them out (OMNI-SPEC §7.2),
/// on hand-made rows whose values say where they came from.
final class TalkerFeedTests: XCTestCase {
    var talkerConfig: TalkerConfig {
        get throws { try XCTUnwrap(try OmniConfig.load(directory: Fixtures.tinyModel).talker) }
    }

    /// Rows of width 2 holding (source, index): prompt embeds 1, prompt hidden 2, reply embeds 3, reply hidden 4.
    func record(prompt p: Int, fed: Int) -> ThinkerRecord {
        let r = ThinkerRecord(width: 2)
        r.promptEmbeds = (0..<p).flatMap { [1, Float($0)] }
        r.promptHidden = (0..<p).flatMap { [2, Float($0)] }
        r.replyEmbeds = (0..<fed).map { [3, Float($0)] }
        r.replyHidden = (0..<fed).map { [4, Float($0)] }
        return r
    }

    func testPrefillAndStreamRows() throws {
        let tc = try talkerConfig
        // Prompt of 3 (position 1 a placeholder whose media was given), G = 4 generated tokens, 3 of them fed back.
        let feed = try TalkerFeed(record: record(prompt: 3, fed: 3), tokens: [70, 71, 72, 73], promptIDs: [10, 11, 12],
                                  zeroRows: [1], config: tc, speakerBOSID: 99, speakerBOS: [5, 5], textEnd: [6, 6],
                                  textPad: [7, 7])
        XCTAssertEqual(feed.prefillRows, 5)
        XCTAssertEqual(feed.prefillEmbeds, [1, 0, 0, 0, 1, 2, 5, 5, 3, 0])
        XCTAssertEqual(feed.prefillHidden, [2, 0, 2, 1, 2, 2, 0, 0, 4, 0])
        XCTAssertEqual(feed.textIDs, [10, 11, 12, 99, 70])
        XCTAssertEqual(feed.codecIDs, [tc.codecMaskTokenID, tc.codecMaskTokenID, tc.codecMaskTokenID,
                                       tc.codecPadTokenID, tc.codecStartTokenID])
        // Stream: R_1, R_2, then text EOS and PAD embeddings (no hidden part); PAD repeats forever.
        XCTAssertEqual(feed.streamEmbeds, [[3, 1], [3, 2], [6, 6], [7, 7]])
        XCTAssertEqual(feed.streamHidden, [[4, 1], [4, 2], [0, 0], [0, 0]])
        XCTAssertEqual((1...7).map { feed.streamRow(step: $0).embeds }, [[3, 1], [3, 2], [6, 6], [7, 7], [7, 7], [7, 7], [7, 7]])
    }

    func testTwoTokensGiveOnlyEndAndPadRows() throws {
        let feed = try TalkerFeed(record: record(prompt: 1, fed: 1), tokens: [70, 71], promptIDs: [10], zeroRows: [],
                                  config: try talkerConfig, speakerBOSID: 99, speakerBOS: [5, 5], textEnd: [6, 6], textPad: [7, 7])
        XCTAssertEqual(feed.streamEmbeds, [[6, 6], [7, 7]])
        XCTAssertEqual(feed.prefillEmbeds, [1, 0, 5, 5, 3, 0])
    }

    func testTooFewTokensOrRowsAreTypedErrors() throws {
        let tc = try talkerConfig
        XCTAssertThrowsError(try TalkerFeed(record: record(prompt: 1, fed: 0), tokens: [70], promptIDs: [10], zeroRows: [],
                                            config: tc, speakerBOSID: 1, speakerBOS: [5, 5], textEnd: [6, 6], textPad: [7, 7])) {
            XCTAssertTrue("\($0)".contains("at least 2 generated tokens"), "\($0)")
        }
        XCTAssertThrowsError(try TalkerFeed(record: record(prompt: 2, fed: 1), tokens: [70, 71, 72], promptIDs: [10, 11],
                                            zeroRows: [], config: tc, speakerBOSID: 1, speakerBOS: [5, 5], textEnd: [6, 6],
                                            textPad: [7, 7])) {
            XCTAssertTrue("\($0)".contains("thinker record"), "\($0)")
        }
    }
}
