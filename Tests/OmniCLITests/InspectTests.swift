import Foundation
import OmniCore
import OmniTestSupport
import Qwen25Omni
import XCTest
@testable import omni

/// `omni inspect`: per-tensor rows and totals, checked against the fixture's own index.
final class InspectTests: XCTestCase {
    func testFixtureTotalsMatchIndexAndAddUp() throws {
        let report = try CheckpointReport(url: Fixtures.tinyModel, registry: Composition.registry())
        let indexURL = Fixtures.tinyModel.appendingPathComponent("model.safetensors.index.json")
        let index = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as? [String: Any])
        let meta = try XCTUnwrap(index["metadata"] as? [String: Any])
        let weightMap = try XCTUnwrap(index["weight_map"] as? [String: String])

        XCTAssertEqual(report.formats, ["safetensors", "torch"])   // spk_dict.pt is picked up too
        XCTAssertEqual(report.tensors.count, weightMap.count + 4)
        let st = report.tensors.filter { $0.format == "safetensors" }
        XCTAssertEqual(st.map(\.parameters).reduce(0, +), meta["total_parameters"] as? Int)
        XCTAssertEqual(st.map(\.bytes).reduce(0, +), meta["total_size"] as? Int)
        for row in st { XCTAssertEqual(row.file, weightMap[row.name], row.name) }

        XCTAssertEqual(report.components.values.map(\.bytes).reduce(0, +), report.total.bytes)
        XCTAssertEqual(report.dtypes.values.map(\.tensors).reduce(0, +), report.total.tensors)
        XCTAssertEqual(Set(report.components.keys),
                       ["thinker", "audio_tower", "vision_tower", "talker", "token2wav", "spk_dict"])
        let audio = st.filter { $0.name.hasPrefix("thinker.audio_tower.") }
        XCTAssertEqual(report.components["audio_tower"]?.tensors, audio.count)
        XCTAssertEqual(report.metadata["Chelsie.bos_token"], "2038")

        let json = try JSONEncoder().encode(report)
        let decoded = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        XCTAssertEqual((decoded["tensors"] as? [Any])?.count, report.tensors.count)
        XCTAssertTrue(report.table().contains("per component:"))
    }

    func testComponentPrefixes() {
        XCTAssertEqual(CheckpointReport.component(of: "thinker.lm_head.weight"), "thinker")
        XCTAssertEqual(CheckpointReport.component(of: "thinker.visual.blocks.0.mlp.weight"), "vision_tower")
        XCTAssertEqual(CheckpointReport.component(of: "thinker.audio_tower.conv1.weight"), "audio_tower")
        XCTAssertEqual(CheckpointReport.component(of: "talker.codec_head.weight"), "talker")
        XCTAssertEqual(CheckpointReport.component(of: "token2wav.code2wav_dit_model.x"), "token2wav")
        XCTAssertEqual(CheckpointReport.component(of: "thinkerish"), "other")
    }
}
