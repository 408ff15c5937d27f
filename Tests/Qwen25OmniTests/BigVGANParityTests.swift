import BuiltinPlugins
import Foundation
import OmniCore
@testable import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The vocoder against transformers 5.17.0 (`speech.safetensors`: the DiT's `mel` in, `waveform` out), and the
/// anti-aliasing filter against the spec's probe values.
///
/// The tiny checkpoint's random SnakeBeta parameters amplify fp32 rounding: transformers' own fp32 waveform is
/// 1.35e-4 of max|ref| away from its float64 one (Tests/Fixtures/derived/bigvgan_fp64.safetensors, made by
/// Tests/Fixtures/make_bigvgan_fp64.py). So the test holds ours to the float64 waveform at the 1e-4 scale plus
/// that noise floor, and to the fp32 reference at the sum of both noises.
final class BigVGANParityTests: XCTestCase {
    func testWaveformMatchesReference() throws {
        let config = try XCTUnwrap(try OmniConfig.load(directory: Fixtures.tinyModel).token2wav).bigvgan
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("speech.safetensors")).tensors
        let mel = try XCTUnwrap(ref["mel"])
        let registry = BuiltinPlugins.registry()
        let source = try registry.weightFormat(for: Fixtures.tinyModel).open(Fixtures.tinyModel)
        let weights = ModelWeights(source: source, registry: registry, policy: DTypePolicy(.f32), device: CPUDevice())
        let vocoder = BigVGAN(config: config)
        let exec = Executor(registry: registry)
        let out = try exec.run(exec.plan(vocoder.graph(frames: mel.shape[1])), inputs: try vocoder.inputs(mel: mel), weights: weights)
        let wav = try XCTUnwrap(out[BigVGAN.waveform]).floats().map { min(1, max(-1, $0)) }
        let want = try ref["waveform"]!.floats()
        XCTAssertEqual(wav.count, want.count)
        let exact = try loadSafetensors(Fixtures.root.appendingPathComponent("Tests/Fixtures/derived/bigvgan_fp64.safetensors"))
            .tensors["waveform"]!.floats()
        let err32 = Tolerance.relativeMaxError(wav, want), err64 = Tolerance.relativeMaxError(wav, exact)
        let torchNoise = Tolerance.relativeMaxError(want, exact)
        print("bigvgan parity: rel err vs fp32 reference \(err32), vs float64 \(err64) (transformers fp32 vs float64: \(torchNoise))")
        XCTAssertLessThanOrEqual(err64, 1e-4 + torchNoise)
        XCTAssertLessThanOrEqual(err32, 1e-4 + 2 * torchNoise)
    }

    func testAntiAliasFilterMatchesTheSpecProbe() {
        let probe: [Float] = [0.0020289647, 0.0093894657, -0.0255434588, -0.0576573834, 0.1285725832, 0.4432097971,
                              0.4432097971, 0.1285725832, -0.0576573834, -0.0255434588, 0.0093894657, 0.0020289647]
        // Computed in Float64 here, in fp32 by torch: equal up to fp32 rounding of the largest tap (0.443).
        for (a, b) in zip(AntiAliasedSnakeBeta.filter, probe) { XCTAssertEqual(a, b, accuracy: 5e-8) }
    }
}
