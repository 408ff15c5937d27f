import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The Whisper log-mel feature extractor against transformers (`audio.safetensors`: `waveform` in,
/// `input_features` within 1e-3 absolute and `feature_attention_mask` exactly), and its FFT against a direct DFT.
final class WhisperFeatureTests: XCTestCase {
    func testFeaturesMatchReference() throws {
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        let fe = try WhisperFeatureExtractor(directory: Fixtures.tinyModel)
        XCTAssertEqual(fe.nSamples, 480_000)
        // The STFT graph on the executor (what the CLI runs) and the Float64 FFT oracle.
        for executor in [Executor(registry: BuiltinPlugins.registry()) as (any GraphExecutor)?, nil] {
            let (features, mask) = try fe([try ref["waveform"]!.floats()], executor: executor)
            XCTAssertEqual(features.shape, ref["input_features"]!.shape)
            XCTAssertEqual(try mask.int64s(), try ref["feature_attention_mask"]!.int64s())
            let err = Tolerance.maxAbsError(try features.floats(), try ref["input_features"]!.floats())
            print("whisper features (\(executor == nil ? "fft" : "graph")): max abs err \(err)")
            XCTAssertLessThanOrEqual(err, 1e-3)
        }
    }

    func testGraphAndFFTPathsAgreeOnLongerAudio() throws {
        // More frames than one graph block (1024), with a loud start and a quiet tail so the floor matters.
        let fe = WhisperFeatureExtractor(nSamples: 16000 * 12)
        let w: [Float] = (0..<(16000 * 11 + 77)).map { (i: Int) -> Float in
            let amplitude: Double = i < 16000 ? 0.9 : 1e-4
            return Float(sin(Double(i) * 0.031) * amplitude)
        }
        let a = try fe([w], executor: Executor(registry: BuiltinPlugins.registry())).features.floats()
        let b = try fe([w]).features.floats()
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(a, b), 1e-3)
    }

    func testMaskCountsAndTruncation() throws {
        let fe = WhisperFeatureExtractor(nSamples: 3200)   // 0.2 s cap, 20 frames
        for (samples, valid) in [(1, 1), (160, 1), (161, 2), (3199, 20), (3200, 20), (5000, 20)] {
            let w = (0..<samples).map { Float(sin(Double($0) * 0.05)) }
            let (f, m) = try fe([w])
            XCTAssertEqual(f.shape, [1, 128, 20])
            XCTAssertEqual(try m.int64s(), Array(repeating: 1, count: valid) + Array(repeating: 0, count: 20 - valid), "\(samples)")
            XCTAssertTrue(try f.floats().allSatisfy { $0.isFinite })
        }
        // Truncation: samples past the cap change nothing.
        let w = (0..<5000).map { Float(sin(Double($0) * 0.05)) }
        XCTAssertEqual(try fe([w]).features.floats(), try fe([Array(w.prefix(3200))]).features.floats())
    }

    func testBadWaveformsAreTypedErrors() {
        let fe = WhisperFeatureExtractor(nSamples: 3200)
        XCTAssertThrowsError(try fe([])) { XCTAssertTrue("\($0)".contains("audio"), "\($0)") }
        XCTAssertThrowsError(try fe([[]])) { XCTAssertTrue("\($0)".contains("audio[0]"), "\($0)") }
        XCTAssertThrowsError(try fe([[0, .nan]])) { XCTAssertTrue("\($0)".contains("finite"), "\($0)") }
    }

    func testFFTPowerMatchesDirectDFT() {
        var rng = SeededGenerator(seed: 11)
        for n in [1, 2, 7, 12, 30, 400] {
            let x = (0..<n).map { _ in Double.random(in: -1...1, using: &rng) }
            var got = [Double](repeating: 0, count: n / 2 + 1)
            RealFFT(length: n).power(x, into: &got)
            for k in 0...(n / 2) {
                var re = 0.0, im = 0.0
                for j in 0..<n {
                    re += x[j] * cos(2 * .pi * Double(j * k) / Double(n))
                    im -= x[j] * sin(2 * .pi * Double(j * k) / Double(n))
                }
                XCTAssertEqual(got[k], re * re + im * im, accuracy: 1e-9 * Double(n), "n \(n) k \(k)")
            }
        }
    }
}
