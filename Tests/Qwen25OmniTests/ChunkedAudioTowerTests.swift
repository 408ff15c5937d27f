import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The audio tower in groups of native windows (issue 14) against one run: audio_embeds within 1e-5 of
/// max|one run| on the audio fixtures of every checkpoint and on synthetic audios that every group size splits
/// (remainders included, one too short for a token among them), the reference's greedy tokens, and an
/// activation arena that does not grow with the audio.
final class ChunkedAudioTowerTests: XCTestCase {
    func load(_ c: Fixtures.Checkpoint) throws -> OmniModel {
        let registry = BuiltinPlugins.registry()
        return try OmniModel.fromPretrained(c.model.path, registry: registry, executor: Executor(registry: registry))
    }

    /// The tower's rows for `features` / `mask` with `windows` windows per run (nil: one run).
    func embeds(_ model: OmniModel, _ features: Tensor, _ mask: Tensor, windows: Int?) throws -> Tensor {
        model.audioWindowsPerRun = windows
        defer { model.audioWindowsPerRun = nil }
        return try model.encodeAudio(features: features, mask: mask)
    }

    func assertClose(_ got: Tensor, _ want: Tensor, _ what: String) throws {
        XCTAssertEqual(got.shape, want.shape, what)
        let err = Tolerance.relativeMaxError(try got.floats(), try want.floats())
        print("chunked audio tower \(what): rel err \(err)")
        XCTAssertLessThanOrEqual(err, 1e-5, what)
    }

    func testFixtureAudioEmbedsAndGreedyTokensEqualOneRun() throws {
        for c in Fixtures.checkpoints {
            let model = try load(c)
            for name in ["audio", "video_audio"] {
                let url = c.reference.appendingPathComponent("\(name).safetensors")
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                let ref = try loadSafetensors(url).tensors
                let features = try XCTUnwrap(ref["input_features"]), mask = try XCTUnwrap(ref["feature_attention_mask"])
                let one = try embeds(model, features, mask, windows: nil)
                XCTAssertEqual(one.shape, try XCTUnwrap(ref["audio_embeds"]).shape)
                for w in [1, 2, 3] { try assertClose(try embeds(model, features, mask, windows: w), one, "\(c) \(name) w\(w)") }
            }
        }
        // The reference's greedy tokens with the tower in one-window runs (the audio case spans two windows).
        let model = try load(Fixtures.checkpoints[0])
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        var input = ThinkerInput(ids: try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) },
                                 audioFeatures: ref["input_features"], audioMask: ref["feature_attention_mask"])
        input.useAudioInVideo = false
        let want = try XCTUnwrap(ref["generated"]).int64s().map { Int($0) }
        model.audioWindowsPerRun = 1
        let got = try model.generate(input: input, options: GenerationOptions(
            maxNewTokens: want.count, sampling: SamplingOptions(greedy: true, minNewTokens: want.count)))
        XCTAssertEqual(got, want)
    }

    func testSyntheticAudiosSplitByEveryGroupSize() throws {
        // Two audios in one batch: 5 windows + 57 frames, and 4 windows + 1 frame (a remainder with no token).
        let model = try load(Fixtures.checkpoints[0])
        let audio = try XCTUnwrap(model.audio)
        let n = audio.chunkFrames, bins = audio.config.melBins
        let lengths = [5 * n + 57, 4 * n + 1], frames = lengths.max() ?? 0
        var rng = SeededGenerator(seed: 11)
        let f = (0..<(2 * bins * frames)).map { _ in Float.random(in: -1...1, using: &rng) }
        var m = [Int64](repeating: 0, count: 2 * frames)
        for (b, len) in lengths.enumerated() { for t in 0..<len { m[b * frames + t] = 1 } }
        let features = Tensor(f, shape: [2, bins, frames]), mask = Tensor(int64: m, shape: [2, frames])
        let one = try embeds(model, features, mask, windows: nil)
        XCTAssertEqual(one.shape[0], lengths.map { AudioEncoder.tokens(frames: $0) }.reduce(0, +))
        for w in [1, 2, 3, 4, 7] { try assertClose(try embeds(model, features, mask, windows: w), one, "synthetic w\(w)") }
        XCTAssertThrowsError(try embeds(model, features, mask, windows: 0)) { error in
            guard case OmniError.invalidArgument(let name, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "audioWindowsPerRun")
        }
    }

    /// Peak bytes of the activation arena after the tower ran on `windows` synthetic windows, `perRun` at a time.
    func peakActivations(windows: Int, perRun: Int?) throws -> Int {
        let registry = BuiltinPlugins.registry(), executor = Executor(registry: registry)
        let model = try OmniModel.fromPretrained(Fixtures.checkpoints[0].model.path, registry: registry, executor: executor)
        let audio = try XCTUnwrap(model.audio)
        let frames = windows * audio.chunkFrames, bins = audio.config.melBins
        let f = (0..<(bins * frames)).map { Float(sin(Double($0) * 0.013)) }
        model.audioWindowsPerRun = perRun
        _ = try model.encodeAudio(features: Tensor(f, shape: [bins, frames]),
                                  mask: Tensor(int64: [Int64](repeating: 1, count: frames), shape: [frames]))
        return executor.memoryReport().peak[.activations] ?? 0
    }

    func testActivationsDoNotGrowWithTheAudio() throws {
        let short = try peakActivations(windows: 4, perRun: 2)
        let long = try peakActivations(windows: 8, perRun: 2)
        let oneRun = try peakActivations(windows: 8, perRun: nil)
        print("audio tower peak activations: 2 windows a run at 4 windows \(short) B, at 8 windows \(long) B; one run at 8 \(oneRun) B")
        XCTAssertGreaterThan(short, 0)
        XCTAssertEqual(long, short)
        XCTAssertGreaterThan(oneRun, 3 * long, "one run plans for the audio, groups for the group")
    }
}
