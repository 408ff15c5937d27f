import Foundation
import MediaBasic
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Sample-rate conversion: tones survive within the passband, vanish above the new Nyquist frequency, DC stays.
final class ResamplerTests: XCTestCase {
    func tone(_ hz: Double, rate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { Float(amplitude * sin(2 * .pi * hz * Double($0) / Double(rate))) }
    }

    func testTonesInThePassbandSurviveEveryCommonRate() throws {
        for from in [8000, 11025, 22050, 32000, 44100, 48000, 96000] {
            let r = try Resampler(from: from, to: 16000)
            let x = tone(1000, rate: from, seconds: 0.5)
            let y = r(x)
            XCTAssertEqual(y.count, (x.count * 16000 + from - 1) / from, "\(from)")
            let want = tone(1000, rate: 16000, seconds: 0.5)
            var err: Float = 0
            for i in 400..<(min(y.count, want.count) - 400) { err = max(err, abs(y[i] - want[i])) }   // away from the edges
            XCTAssertLessThan(err, 2e-3, "\(from) Hz")
        }
    }

    func testToneAboveTheNewNyquistIsRemoved() throws {
        let y = try Resampler(from: 48000, to: 16000)(tone(10000, rate: 48000, seconds: 0.5))
        let interior = y[400..<(y.count - 400)]
        let rms = (interior.map { $0 * $0 }.reduce(0, +) / Float(interior.count)).squareRoot()
        XCTAssertLessThan(rms, 1e-3)   // the input's RMS is 0.35: more than 50 dB down
    }

    func testConstantStaysConstantAndSameRateIsIdentity() throws {
        let y = try Resampler(from: 44100, to: 16000)([Float](repeating: 0.25, count: 44100))
        for v in y[200..<(y.count - 200)] { XCTAssertEqual(v, 0.25, accuracy: 1e-5) }
        let x: [Float] = [1, 2, 3]
        XCTAssertEqual(try Resampler(from: 16000, to: 16000)(x), x)
    }

    func testBadRatesAreTypedErrors() {
        XCTAssertThrowsError(try Resampler(from: 0, to: 16000)) { XCTAssertTrue("\($0)".contains("sample rate"), "\($0)") }
        // A corrupt header's rate (found by Fuzz/FuzzMedia.swift: 637 MHz made a filter of billions of taps).
        XCTAssertThrowsError(try Resampler(from: 637_582_208, to: 16000)) { XCTAssertTrue("\($0)".contains("1 MHz"), "\($0)") }
        XCTAssertThrowsError(try Resampler(from: 44101, to: 16000)) { XCTAssertTrue("\($0)".contains("44101"), "\($0)") }
    }

    /// Inputs the media fuzzer once timed out on (Tests/Fixtures/fuzz/media-regressions): WAV headers with absurd
    /// rates; decoding them and asking for 16 kHz must fail fast with a typed error.
    func testFuzzRegressionsFailFast() throws {
        let dir = Fixtures.root.appendingPathComponent("Tests/Fixtures/fuzz/media-regressions")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let wav = try WAVFile(path: dir.appendingPathComponent(f).path)
            XCTAssertThrowsError(try Resampler(from: wav.sampleRate, to: 16000), f)
        }
    }
}
