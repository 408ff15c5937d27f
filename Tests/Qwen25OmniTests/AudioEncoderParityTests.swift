import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The audio tower against transformers 5.17.0 (`audio.safetensors`: `input_features` and
/// `feature_attention_mask` in, `audio_embeds` out) within 1e-4 of max|reference|, with both attention backends.
final class AudioEncoderParityTests: XCTestCase {
    func run(_ encoder: AudioEncoder, features: Tensor, mask: Tensor, model: URL) throws -> [Float] {
        let registry = BuiltinPlugins.registry()
        let source = try registry.weightFormat(for: model).open(model)
        let weights = ModelWeights(source: source, registry: registry, policy: .auto, device: CPUDevice())
        let (lengths, inputs) = try encoder.inputs(features: features, mask: mask)
        let exec = Executor(registry: registry)
        let out = try exec.run(exec.plan(encoder.graph(lengths: lengths)), inputs: inputs, weights: weights)
        return try XCTUnwrap(out[AudioEncoder.embeds]).floats()
    }

    func testAudioEmbedsMatchReferenceWithBothBackends() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.audio
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        let features = try XCTUnwrap(ref["input_features"]), mask = try XCTUnwrap(ref["feature_attention_mask"])
        let want = try XCTUnwrap(ref["audio_embeds"])
        var got: [String: [Float]] = [:]
        for backend in ["eager", "flash_attention_2"] {
            let encoder = AudioEncoder(config: config, attention: [backend])
            let y = try run(encoder, features: features, mask: mask, model: Fixtures.tinyModel)
            XCTAssertEqual(y.count, want.elementCount, backend)
            let err = Tolerance.relativeMaxError(y, try want.floats())
            print("audio tower parity (\(backend)): rel err \(err), \(want.shape[0]) tokens")
            XCTAssertLessThanOrEqual(err, 1e-4, backend)
            got[backend] = y
        }
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(got["flash_attention_2"]!, got["eager"]!), 1e-5)
    }

    func testTokenCountsFollowTheProcessorFormula() {
        // M = ((len − 1)//2 + 1 − 2)//2 + 1 with Python's floor division (OMNI-SPEC §3.4): 1 s (100 frames) → 25.
        for (frames, tokens) in [(1, 0), (2, 0), (3, 1), (4, 1), (5, 1), (6, 1), (7, 2), (100, 25), (201, 50), (230, 57),
                                 (3000, 750)] {
            XCTAssertEqual(AudioEncoder.tokens(frames: frames), tokens, "\(frames)")
        }
    }

    func testTwoAudiosInOneBatchEqualEachAlone() throws {
        // Chunks are independent and pooling is per audio, so a batch of two equals the two runs concatenated.
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.audio
        let encoder = AudioEncoder(config: config, attention: ["flash_attention_2"])
        var rng = SeededGenerator(seed: 3)
        let frames = 260, bins = config.melBins
        let f = (0..<(2 * bins * frames)).map { _ in Float.random(in: -1...1, using: &rng) }
        let lengths = [260, 57]
        var m = [Int64](repeating: 0, count: 2 * frames)
        for (b, len) in lengths.enumerated() { for t in 0..<len { m[b * frames + t] = 1 } }
        let both = try run(encoder, features: Tensor(f, shape: [2, bins, frames]), mask: Tensor(int64: m, shape: [2, frames]),
                           model: Fixtures.tinyModel)
        var alone: [Float] = []
        for b in 0..<2 {
            let fb = Array(f[(b * bins * frames)..<((b + 1) * bins * frames)])
            let mb = Array(m[(b * frames)..<((b + 1) * frames)])
            alone += try run(encoder, features: Tensor(fb, shape: [1, bins, frames]), mask: Tensor(int64: mb, shape: [1, frames]),
                             model: Fixtures.tinyModel)
        }
        XCTAssertEqual(both.count, (AudioEncoder.tokens(frames: 260) + AudioEncoder.tokens(frames: 57)) * config.outputDim)
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(both, alone), 1e-5)
    }

    func testBadMaskAndFeatureShapesAreTypedErrors() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.audio
        let encoder = AudioEncoder(config: config)
        let f = Tensor(zeros: [1, config.melBins, 10])
        XCTAssertThrowsError(try encoder.inputs(features: Tensor(zeros: [1, 7, 10]), mask: Tensor(int64: Array(repeating: 1, count: 10), shape: [1, 10]))) {
            XCTAssertTrue("\($0)".contains("input_features"), "\($0)")
        }
        XCTAssertThrowsError(try encoder.inputs(features: f, mask: Tensor(int64: [1, 0, 1] + Array(repeating: 0, count: 7), shape: [1, 10]))) {
            XCTAssertTrue("\($0)".contains("feature_attention_mask"), "\($0)")
        }
        XCTAssertThrowsError(try encoder.inputs(features: f, mask: Tensor(int64: Array(repeating: 1, count: 9), shape: [1, 9]))) {
            XCTAssertTrue("\($0)".contains("feature_attention_mask"), "\($0)")
        }
        // Two frames give no token (the reference drops the odd vector), so there is nothing to encode.
        XCTAssertThrowsError(try encoder.inputs(features: f, mask: Tensor(int64: [1, 1] + Array(repeating: 0, count: 8), shape: [1, 10]))) {
            XCTAssertTrue("\($0)".contains("at least 3 frames"), "\($0)")
        }
    }
}
