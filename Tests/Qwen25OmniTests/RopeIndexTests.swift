import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// `get_rope_index` against transformers' position_ids for every multimodal fixture, and the spec's worked example.
final class RopeIndexTests: XCTestCase {
    func grids(_ t: Tensor?) throws -> [VisionEncoder.Grid] {
        try t.map { try VisionEncoder.Grid.list($0, name: "grid_thw") } ?? []
    }

    func testFixturePositionsMatch() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker
        for name in ["text", "audio", "image", "video", "video_audio"] {
            let file = try loadSafetensors(Fixtures.reference.appendingPathComponent("\(name).safetensors"))
            let ref = file.tensors
            let ids = try ref["input_ids"]!.int64s().map { Int($0) }
            var media = RopeIndex.Media()
            media.imageGrids = try grids(ref["image_grid_thw"])
            media.videoGrids = try grids(ref["video_grid_thw"])
            if let s = file.metadata["video_second_per_grid"], case let .array(values) = try JSONValue.parse(Data(s.utf8), file: name) {
                media.secondsPerGrid = values.compactMap { if case let .double(d) = $0 { return d }; if case let .int(i) = $0 { return Double(i) }; return nil }
            }
            media.useAudioInVideo = file.metadata["use_audio_in_video"] == "true"
            if let m = ref["feature_attention_mask"] { media.audioFrames = [Int(try m.int64s().reduce(0, +))] }
            let rows = try RopeIndex(config: config).positions(ids: ids, media: media)
            XCTAssertEqual(rows.flatMap { $0 }, try ref["position_ids"]!.int64s(), name)
            if let d = ref["rope_deltas"] {
                XCTAssertEqual(rows.flatMap { $0 }.max()! + 1 - Int64(ids.count), try d.int64s()[0], name)
            }
        }
    }

    func testSpecWorkedExample() throws {
        // OMNI-SPEC §4.2: 6 text, audio (100 frames → 25), 1 text, image [1,8,12], 2 text, video [6,4,4] at 1 s per
        // grid, 1 text, image [1,10,6], audio (37 frames → 9), 5 text; L = 122, delta 74.
        let c = try OmniConfig.load(directory: Fixtures.tinyModel).thinker
        let vb = c.visionStartTokenID!, ve = c.visionEndTokenID!, ab = c.audioStartTokenID, ae = c.audioEndTokenID
        let t = 5
        var ids = [Int](repeating: t, count: 6) + [ab] + [Int](repeating: c.audioTokenID, count: 25) + [ae, t]
        ids += [vb] + [Int](repeating: c.imageTokenID, count: 24) + [ve, t, t]
        ids += [vb] + [Int](repeating: c.videoTokenID, count: 24) + [ve, t]
        ids += [vb] + [Int](repeating: c.imageTokenID, count: 15) + [ve]
        ids += [ab] + [Int](repeating: c.audioTokenID, count: 9) + [ae] + [Int](repeating: t, count: 5)
        XCTAssertEqual(ids.count, 122)
        let media = RopeIndex.Media(imageGrids: [.init(t: 1, h: 8, w: 12), .init(t: 1, h: 10, w: 6)],
                                    videoGrids: [.init(t: 6, h: 4, w: 4)], secondsPerGrid: [1.0], audioFrames: [100, 37])
        let r = try RopeIndex(config: c).positions(ids: ids, media: media)
        XCTAssertEqual(r[0].max()! + 1 - 122, 74)
        XCTAssertEqual(Array(r[0][0..<8]), [0, 1, 2, 3, 4, 5, 6, 7])            // text, audio_bos, first audio
        XCTAssertEqual(r[0][32], 32); XCTAssertEqual(r[0][34], 34)               // audio_eos, vision_bos
        XCTAssertEqual([r[0][35], r[1][35], r[2][35]], [35, 35, 35])             // image 1 starts at 35
        XCTAssertEqual([r[1][58], r[2][58]], [38, 40])                            // its last token: h 38, w 40
        XCTAssertEqual(r[0][59], 41)                                              // vision_eos
        let video = Array(r[0][63..<87])
        XCTAssertEqual(Set(video), [45, 70, 95, 120, 145, 170])
        XCTAssertEqual(r[0][87], 171)
        XCTAssertEqual(Array(r[0][117..<122]), [191, 192, 193, 194, 195])
    }

    func testCorruptGridsAreTypedErrorsBeforeAnyAllocation() throws {
        let c = try OmniConfig.load(directory: Fixtures.tinyModel).thinker
        let ids = [c.visionStartTokenID!, c.imageTokenID, c.visionEndTokenID!]
        for g in [VisionEncoder.Grid(t: 1, h: 1 << 40, w: 1 << 40), .init(t: 0, h: 2, w: 2), .init(t: 1, h: 3, w: 2), .init(t: 1, h: 40, w: 40)] {
            XCTAssertThrowsError(try RopeIndex(config: c).positions(ids: ids, media: .init(imageGrids: [g])), "\(g)") {
                XCTAssertTrue("\($0)".contains("image_grid_thw[0]"), "\($0)")
            }
        }
        let encoder = VisionEncoder(config: try OmniConfig.load(directory: Fixtures.tinyModel).thinker.vision)
        XCTAssertThrowsError(try encoder.inputs(pixels: Tensor(zeros: [4, 1176]), grids: [.init(t: 1 << 30, h: 1 << 30, w: 1 << 30)])) {
            XCTAssertTrue("\($0)".contains("grid_thw[0]"), "\($0)")
        }
    }
}
