import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Limits from the model itself (layers present, positions) and overflow-safe estimates, checked before
/// anything is built or allocated.
final class ModelLimitsTests: XCTestCase {
    func config(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> OmniConfig {
        var raw = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("config.json")))
            as? [String: Any])
        edit(&raw)
        let data = try JSONSerialization.data(withJSONObject: raw)
        return try OmniConfig.parse(data, file: "config.json")
    }

    /// The tiny config with `thinker_config.<section>.<key>` set to `value`.
    func config(_ section: String, _ key: String, _ value: Int) throws -> OmniConfig {
        try config {
            var thinker = $0["thinker_config"] as! [String: Any]
            var sub = thinker[section] as! [String: Any]
            sub[key] = value
            thinker[section] = sub
            $0["thinker_config"] = thinker
        }
    }

    func names() throws -> [String] {
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.tinyModel
            .appendingPathComponent("model.safetensors.index.json"))) as? [String: Any])
        return try XCTUnwrap(index["weight_map"] as? [String: String]).keys.sorted()
    }

    func testConfigClaimingMoreLayersThanTheCheckpointNamesKeyAndCount() throws {
        let huge = try config("text_config", "num_hidden_layers", 1_000_000_000)
        XCTAssertThrowsError(try CheckpointLimits.check(config: huge, names: names())) { error in
            guard case let OmniError.config(_, keyPath, expected, actual)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(keyPath, "thinker_config.text_config.num_hidden_layers")
            XCTAssertTrue(expected.hasPrefix("2,"), expected)
            XCTAssertEqual(actual, "1000000000")
        }
        XCTAssertNoThrow(try CheckpointLimits.check(config: config(), names: names()))
    }

    func testAudioAndVisionDepthsAreCheckedToo() throws {
        let deep = try config("vision_config", "depth", 99)
        XCTAssertThrowsError(try CheckpointLimits.check(config: deep, names: names())) { error in
            XCTAssertTrue("\(error)".contains("thinker_config.vision_config.depth"), "\(error)")
        }
    }

    func testPositionsBoundNewTokens() throws {
        let c = try config()
        let positions = c.thinker.text.maxPositionEmbeddings
        XCTAssertNoThrow(try CheckpointLimits.checkPositions(promptTokens: 10, maxNewTokens: positions - 10, config: c))
        for (prompt, new) in [(10, positions - 9), (0, 10_000_000), (0, Int.max), (0, -1), (positions + 1, 0), (-1, 0)] {
            XCTAssertThrowsError(try CheckpointLimits.checkPositions(promptTokens: prompt, maxNewTokens: new, config: c,
                                                                      argument: "--max-new-tokens"), "\(prompt) + \(new)") { error in
                XCTAssertTrue("\(error)".contains("max_position_embeddings"), "\(error)")
            }
        }
    }

    /// With M-RoPE, `max_position_embeddings` bounds the largest position id, not the token count (issue 14):
    /// 60 s of 1080p video with its audio is ~45k tokens at positions below 2k and is accepted; a clip whose
    /// positions pass the limit is rejected with an error naming the argument.
    func testPositionsBoundTheLargestMRoPEPositionNotTheTokenCount() throws {
        let c = try config(), positions = c.thinker.text.maxPositionEmbeddings
        let minute = SyntheticVideoInput(seconds: 60)
        let ids = try minute.ids(config: c.thinker)
        XCTAssertGreaterThan(ids.count, positions)
        let largest = CheckpointLimits.largestPosition(try RopeIndex(config: c.thinker).positions(ids: ids, media: minute.media(c.thinker)))
        XCTAssertLessThan(largest, 2000)
        XCTAssertNoThrow(try CheckpointLimits.checkPositions(largestPosition: largest, maxNewTokens: 1024, config: c))
        XCTAssertThrowsError(try CheckpointLimits.checkPositions(promptTokens: ids.count, maxNewTokens: 1024, config: c))
        // The planner sizes the same prompt: accepted by its positions, refused when they reach the limit.
        let rows = Workload(promptTokens: ids.count, newTokens: 1024, largestPosition: largest)
        XCTAssertNoThrow(try ActivationPlanner.checkSizes(config: c, workload: rows))
        var beyond = rows
        beyond.largestPosition = positions - 1000
        XCTAssertThrowsError(try ActivationPlanner.checkSizes(config: c, workload: beyond)) { error in
            XCTAssertTrue("\(error)".contains("thinker prefill") && "\(error)".contains("max_position_embeddings"), "\(error)")
        }
        // 23 minutes of small frames: few tokens a second, but temporal positions 25 a second pass 32768.
        let long = SyntheticVideoInput(seconds: 1380, frameHeight: 28, frameWidth: 28, textBefore: 4, textAfter: 2)
        let far = CheckpointLimits.largestPosition(try RopeIndex(config: c.thinker).positions(ids: long.ids(config: c.thinker),
                                                                                              media: long.media(c.thinker)))
        XCTAssertGreaterThanOrEqual(far, positions)
        XCTAssertThrowsError(try CheckpointLimits.checkPositions(largestPosition: far, maxNewTokens: 1, config: c)) { error in
            guard case let OmniError.invalidArgument(name, expected, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "position_ids")
            XCTAssertTrue(expected.contains("max_position_embeddings"), expected)
        }
        // New tokens past what the positions leave name the argument.
        XCTAssertThrowsError(try CheckpointLimits.checkPositions(largestPosition: largest, maxNewTokens: positions - largest,
                                                                 config: c, argument: "--max-new-tokens")) { error in
            guard case let OmniError.invalidArgument(name, _, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "--max-new-tokens")
        }
        XCTAssertNoThrow(try CheckpointLimits.checkPositions(largestPosition: largest, maxNewTokens: positions - largest - 1, config: c))
        // `omni plan`'s input size: a minute of video with its audio plans; a day of video does not.
        XCTAssertNoThrow(try estimates(c, InputSize(textTokens: 56, audioSeconds: 60, videoSeconds: 60), audioOutput: false))
        XCTAssertThrowsError(try estimates(c, InputSize(videoSeconds: 86_400), audioOutput: false))
    }

    func testEstimatesNeverTrap() throws {
        let c = try config()
        for input in [InputSize(maxNewTokens: Int.max), InputSize(textTokens: Int.max),
                      InputSize(audioSeconds: .infinity), InputSize(audioSeconds: .nan), InputSize(videoSeconds: 1e300),
                      InputSize(imagePixels: Int.max), InputSize(textTokens: -1)] {
            XCTAssertThrowsError(try estimates(c, input, audioOutput: true), "\(input)")
        }
        // Saturating reads: derived counts of absurd input are Int.max, never a trap.
        XCTAssertEqual(InputSize(audioSeconds: .infinity).audioTokens, Int.max)
        XCTAssertEqual(InputSize(textTokens: Int.max, audioSeconds: 1).promptTokens, Int.max)
        // A hostile config: sizes whose products overflow are an error from the estimate, not a trap.
        let wide = try config("text_config", "intermediate_size", 1 << 60)
        XCTAssertThrowsError(try estimates(wide, InputSize(), audioOutput: false)) { error in
            XCTAssertTrue("\(error)".contains("thinker prefill"), "\(error)")
        }
        XCTAssertNoThrow(try estimates(c, InputSize(), audioOutput: true))
        // The planner refuses before building a graph: a video of 10^12 patches, an audio of Int.max frames.
        XCTAssertThrowsError(try estimates(c, InputSize(videoSeconds: 1e9), audioOutput: false))
        XCTAssertThrowsError(try ActivationPlanner(config: c, workload: Workload(promptTokens: 1, newTokens: 1, audioFrames: [Int.max, 5]),
                                                   options: LoadOptions(), registry: PluginRegistry(), infos: [], threads: 1)) { error in
            XCTAssertTrue("\(error)".contains("audio tower"), "\(error)")
        }
    }

    /// The estimates for `input`: the thinker side planned from its graphs (which checks sizes first), then the rest.
    func estimates(_ c: OmniConfig, _ input: InputSize, audioOutput: Bool) throws -> MemoryEstimates {
        let planner = try ActivationPlanner(config: c, workload: Workload(input, vision: c.thinker.vision), options: LoadOptions(),
                                            registry: PluginRegistry(), infos: [], threads: 1)
        return try MemoryEstimates(config: c, input: input, audioOutput: audioOutput, thinker: planner.plan(ChunkSizes()))
    }
}
