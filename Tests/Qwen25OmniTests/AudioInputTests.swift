import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Audio features into the thinker through `OmniModel`: the merge, and the typed errors around it.
final class AudioInputTests: XCTestCase {
    func load(_ path: URL) throws -> OmniModel {
        let registry = BuiltinPlugins.registry()
        return try OmniModel.fromPretrained(path.path, options: LoadOptions(), registry: registry,
                                            executor: Executor(registry: registry))
    }

    func reference() throws -> [String: Tensor] {
        try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
    }

    func testAudioRowsLandOnThePlaceholdersInOrder() throws {
        let model = try load(Fixtures.tinyModel)
        let ref = try reference()
        let ids = try ref["input_ids"]!.int64s().map { Int($0) }
        let input = ThinkerInput(ids: ids, audioFeatures: ref["input_features"], audioMask: ref["feature_attention_mask"])
        let embeds = try model.inputEmbeddings(input).floats()
        let audio = try model.encodeAudio(features: ref["input_features"]!, mask: ref["feature_attention_mask"]!).floats()
        let text = try model.inputEmbeddings(ThinkerInput(ids: ids)).floats()
        let d = model.config.thinker.text.hiddenSize
        var row = 0
        for (t, id) in ids.enumerated() {
            let got = Array(embeds[(t * d)..<((t + 1) * d)])
            if id == model.config.thinker.audioTokenID {
                XCTAssertEqual(got, Array(audio[(row * d)..<((row + 1) * d)]), "position \(t)")
                row += 1
            } else {
                XCTAssertEqual(got, Array(text[(t * d)..<((t + 1) * d)]), "position \(t)")
            }
        }
        XCTAssertEqual(row * d, audio.count)
        // And the merged prompt matches the reference's input embeddings.
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(embeds, try ref["embeds"]!.floats()), 1e-4)
    }

    func testPlaceholderCountMismatchAndMissingMaskAreTypedErrors() throws {
        let model = try load(Fixtures.tinyModel)
        let ref = try reference()
        var ids = try ref["input_ids"]!.int64s().map { Int($0) }
        ids.remove(at: try XCTUnwrap(ids.firstIndex(of: model.config.thinker.audioTokenID)))
        XCTAssertThrowsError(try model.inputEmbeddings(ThinkerInput(ids: ids, audioFeatures: ref["input_features"],
                                                                    audioMask: ref["feature_attention_mask"]))) {
            XCTAssertTrue("\($0)".contains("input_ids") && "\($0)".contains("57"), "\($0)")
        }
        XCTAssertThrowsError(try model.inputEmbeddings(ThinkerInput(ids: ids, audioFeatures: ref["input_features"]))) {
            XCTAssertTrue("\($0)".contains("feature_attention_mask"), "\($0)")
        }
    }

    func testTextOnlyExportLoadsAndRefusesAudio() throws {
        // The tiny checkpoint without thinker.audio_tower.*: loads (the tower is optional), generates text, and
        // names the missing tower when audio arrives.
        let registry = BuiltinPlugins.registry()
        let dir = try temporaryDirectory("omni-noaudio")
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.tinyModel.path)
        for f in files where !f.hasSuffix(".safetensors") && !f.hasSuffix(".index.json") {
            try FileManager.default.copyItem(at: Fixtures.tinyModel.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let source = try registry.weightFormat(for: Fixtures.tinyModel).open(Fixtures.tinyModel)
        let entries = source.names.filter { !$0.hasPrefix(AudioEncoder.keyPrefix) }.map { name in
            let i = source.info(name)!
            return TensorEntry(name: name, dtype: i.dtype, shape: i.shape) { try source.tensor(name) }
        }
        _ = try registry.weightFormat(named: "safetensors").write(entries, to: dir.appendingPathComponent("model.safetensors"),
                                                                    options: WeightWriteOptions())
        let model = try load(dir)
        XCTAssertNil(model.audio)
        XCTAssertEqual(try model.generate(ids: model.chatPrompt("hi"), options: GenerationOptions(maxNewTokens: 3)).count, 3)
        let ref = try reference()
        XCTAssertThrowsError(try model.encodeAudio(features: ref["input_features"]!, mask: ref["feature_attention_mask"]!)) {
            XCTAssertTrue("\($0)".contains("audio_tower"), "\($0)")
        }
    }
}
