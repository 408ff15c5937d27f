import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The vision tower against transformers 5.17.0 (`image.safetensors`: `pixel_values` and `image_grid_thw` in,
/// `image_embeds` out) within 1e-4 of max|reference|, with both attention backends; and the window index
/// against the spec's worked example.
final class VisionEncoderParityTests: XCTestCase {
    func testImageEmbedsMatchReferenceWithBothBackends() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.vision
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let grids = try VisionEncoder.Grid.list(ref["image_grid_thw"]!, name: "image_grid_thw")
        let registry = BuiltinPlugins.registry()
        let source = try registry.weightFormat(for: Fixtures.tinyModel).open(Fixtures.tinyModel)
        let weights = ModelWeights(source: source, registry: registry, policy: .auto, device: CPUDevice())
        let want = try ref["image_embeds"]!.floats()
        var got: [String: [Float]] = [:]
        for backend in ["eager", "flash_attention_2"] {
            let encoder = VisionEncoder(config: config, attention: [backend])
            try encoder.validate(grids)
            let exec = Executor(registry: registry)
            let out = try exec.run(exec.plan(encoder.graph(grids: grids)), inputs: try encoder.inputs(pixels: ref["pixel_values"]!, grids: grids),
                                   weights: weights)
            let y = try XCTUnwrap(out[VisionEncoder.embeds]).floats()
            XCTAssertEqual(y.count, want.count, backend)
            let err = Tolerance.relativeMaxError(y, want)
            print("vision tower parity (\(backend)): rel err \(err), \(ref["image_embeds"]!.shape[0]) tokens")
            XCTAssertLessThanOrEqual(err, 1e-4, backend)
            got[backend] = y
        }
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(got["flash_attention_2"]!, got["eager"]!), 1e-5)
    }

    func testWindowIndexMatchesTheSpecExample() throws {
        // OMNI-SPEC §3.5 step 4: window_size 56 (ws = 2), grids [1,8,12] and [1,10,6].
        var config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.vision
        config.windowSize = 56
        let w = VisionEncoder(config: config).windows([.init(t: 1, h: 8, w: 12), .init(t: 1, h: 10, w: 6)])
        XCTAssertEqual(w.order, [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, 12, 13, 18, 19, 14, 15, 20, 21, 16, 17, 22, 23,
                                 24, 25, 27, 28, 26, 29, 30, 31, 33, 34, 32, 35, 36, 37, 38])
        XCTAssertEqual(w.windowSegments, [0, 16, 32, 48, 64, 80, 96, 112, 120, 136, 144, 152, 156])
        XCTAssertEqual(w.frameSegments, [0, 96, 156])
    }

    func testBadGridsAndPixelShapesAreTypedErrors() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.vision
        let encoder = VisionEncoder(config: config)
        XCTAssertThrowsError(try encoder.validate([.init(t: 1, h: 3, w: 4)])) { XCTAssertTrue("\($0)".contains("grid_thw[0]"), "\($0)") }
        XCTAssertThrowsError(try encoder.inputs(pixels: Tensor(zeros: [16, 1176]), grids: [.init(t: 1, h: 2, w: 2)])) {
            XCTAssertTrue("\($0)".contains("4 patches"), "\($0)")
        }
        XCTAssertThrowsError(try encoder.inputs(pixels: Tensor(zeros: [4, 100]), grids: [.init(t: 1, h: 2, w: 2)])) {
            XCTAssertTrue("\($0)".contains("pixel_values"), "\($0)")
        }
    }
}
