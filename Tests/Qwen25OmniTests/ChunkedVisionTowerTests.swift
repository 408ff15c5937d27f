import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The vision tower in groups of t-slices (issue 14) against one run: image_embeds within 1e-5 of max|one run|
/// on the image and video fixtures of every checkpoint and on a synthetic video that every group size splits, the
/// reference's greedy tokens, and an activation arena that does not grow with the video.
final class ChunkedVisionTowerTests: XCTestCase {
    func load(_ c: Fixtures.Checkpoint, executor: Executor? = nil) throws -> OmniModel {
        let registry = BuiltinPlugins.registry()
        return try OmniModel.fromPretrained(c.model.path, registry: registry, executor: executor ?? Executor(registry: registry))
    }

    /// The tower's rows for `pixels` / `grids` with `slices` t-slices per run (nil: one run).
    func embeds(_ model: OmniModel, _ pixels: Tensor, _ grids: [VisionEncoder.Grid], slices: Int?) throws -> Tensor {
        model.visionSlicesPerRun = slices
        defer { model.visionSlicesPerRun = nil }
        return try model.encodeVision(pixels: pixels, grids: grids)
    }

    func assertClose(_ got: Tensor, _ want: Tensor, _ what: String) throws {
        XCTAssertEqual(got.shape, want.shape, what)
        let err = Tolerance.relativeMaxError(try got.floats(), try want.floats())
        print("chunked vision tower \(what): rel err \(err)")
        XCTAssertLessThanOrEqual(err, 1e-5, what)
    }

    func testFixtureEmbedsAndGreedyTokensEqualOneRun() throws {
        var split = 0
        for c in Fixtures.checkpoints {
            let model = try load(c)
            for (name, pix, grid) in [("image", "pixel_values", "image_grid_thw"), ("video", "pixel_values_videos", "video_grid_thw"),
                                      ("video_audio", "pixel_values_videos", "video_grid_thw")] {
                let url = c.reference.appendingPathComponent("\(name).safetensors")
                guard FileManager.default.fileExists(atPath: url.path) else { continue }
                let ref = try loadSafetensors(url).tensors
                let pixels = try XCTUnwrap(ref[pix])
                let grids = try VisionEncoder.Grid.list(try XCTUnwrap(ref[grid]), name: grid)
                if grids.contains(where: { $0.t > 1 }) { split += 1 }
                let one = try embeds(model, pixels, grids, slices: nil)
                for k in [1, 2, 3] { try assertClose(try embeds(model, pixels, grids, slices: k), one, "\(c) \(name) k\(k)") }
            }
        }
        XCTAssertGreaterThan(split, 0, "some fixture video has more than one t-slice")
        // The reference's greedy tokens with the tower one t-slice a run.
        let model = try load(Fixtures.checkpoints[0])
        let file = try loadSafetensors(Fixtures.reference.appendingPathComponent("video.safetensors")), ref = file.tensors
        var input = ThinkerInput(ids: try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) })
        input.pixelValuesVideos = ref["pixel_values_videos"]
        input.videoGrids = try VisionEncoder.Grid.list(try XCTUnwrap(ref["video_grid_thw"]), name: "video_grid_thw")
        let seconds = try XCTUnwrap(file.metadata["video_second_per_grid"])
        guard case let .array(values) = try JSONValue.parse(Data(seconds.utf8), file: "video") else { return XCTFail(seconds) }
        input.secondsPerGrid = values.compactMap {
            if case let .double(d) = $0 { return d }
            if case let .int(i) = $0 { return Double(i) }
            return nil
        }
        let want = try XCTUnwrap(ref["generated"]).int64s().map { Int($0) }
        model.visionSlicesPerRun = 1
        let got = try model.generate(input: input, options: GenerationOptions(
            maxNewTokens: want.count, sampling: SamplingOptions(greedy: true, minNewTokens: want.count)))
        XCTAssertEqual(got, want)
    }

    /// Synthetic pixel rows for `grids`.
    func pixels(_ model: OmniModel, _ grids: [VisionEncoder.Grid]) throws -> Tensor {
        let c = try XCTUnwrap(model.vision).config
        let width = c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize
        let n = grids.map(\.patches).reduce(0, +)
        return Tensor((0..<(n * width)).map { Float(sin(Double($0) * 0.0137)) }, shape: [n, width])
    }

    func testSyntheticVideoSplitByEveryGroupSize() throws {
        let model = try load(Fixtures.checkpoints[0])
        let grids = [VisionEncoder.Grid(t: 5, h: 8, w: 12), VisionEncoder.Grid(t: 1, h: 4, w: 6), VisionEncoder.Grid(t: 3, h: 6, w: 4)]
        let px = try pixels(model, grids)
        let one = try embeds(model, px, grids, slices: nil)
        for k in [1, 2, 3, 4] { try assertClose(try embeds(model, px, grids, slices: k), one, "synthetic k\(k)") }
        XCTAssertThrowsError(try embeds(model, px, grids, slices: 0)) { error in
            guard case OmniError.invalidArgument(let name, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "visionSlicesPerRun")
        }
    }

    /// Peak bytes of the activation arena after the tower ran on a video of `slices` t-slices, `perRun` at a time.
    func peakActivations(slices: Int, perRun: Int?) throws -> Int {
        let executor = Executor(registry: BuiltinPlugins.registry())
        let model = try load(Fixtures.checkpoints[0], executor: executor)
        let grids = [VisionEncoder.Grid(t: slices, h: 8, w: 8)]
        model.visionSlicesPerRun = perRun
        _ = try model.encodeVision(pixels: try pixels(model, grids), grids: grids)
        return executor.memoryReport().peak[.activations] ?? 0
    }

    func testActivationsDoNotGrowWithTheVideo() throws {
        let short = try peakActivations(slices: 4, perRun: 2)
        let long = try peakActivations(slices: 8, perRun: 2)
        let oneRun = try peakActivations(slices: 8, perRun: nil)
        print("vision tower peak activations: 2 t-slices a run at 4 \(short) B, at 8 \(long) B; one run at 8 \(oneRun) B")
        XCTAssertGreaterThan(short, 0)
        XCTAssertEqual(long, short)
        XCTAssertGreaterThan(oneRun, 3 * long, "one run plans for the video, groups for the group")
    }
}
