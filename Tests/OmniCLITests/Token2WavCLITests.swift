import Foundation
import OmniCore
import OmniTestSupport
import MediaBasic
import Qwen25Omni
import XCTest

/// `omni speakers` and `omni token2wav` as a user runs them (the binary next to the tests, or `OMNI_CLI`).
final class Token2WavCLITests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try OmniCLI.run(args)
        return (r.status, r.out, r.err)
    }

    func testSpeakersListsEveryVoice() throws {
        let r = try run(["speakers", Fixtures.tinyModel.path])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("Chelsie\tbos_token 2038") && lines[1].hasPrefix("Ethan\tbos_token 2037"), r.out)
    }

    func testToken2WavWritesReferenceMelWaveformAndWAV() throws {
        let dir = try temporaryDirectory("omni-t2w")
        let out = dir.appendingPathComponent("out.safetensors"), wav = dir.appendingPathComponent("out.wav")
        let input = Fixtures.reference.appendingPathComponent("speech.safetensors")
        let r = try run(["token2wav", Fixtures.tinyModel.path, "--inputs", input.path, "--out", out.path, "--steps", "4",
                         "--speaker", "Chelsie", "--wav", wav.path])
        XCTAssertEqual(r.status, 0, r.err)
        let ref = try loadSafetensors(input).tensors, got = try loadSafetensors(out).tensors
        XCTAssertEqual(got["mel"]?.shape, [80, 60])
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try XCTUnwrap(got["mel"]).floats(), try ref["mel"]!.floats()), 1e-3)
        let waveform = try XCTUnwrap(got["waveform"]).floats()
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(waveform, try ref["waveform"]!.floats()), 1e-3)
        let file = try WAVFile(path: wav.path)
        XCTAssertEqual(file.sampleRate, 24_000)
        XCTAssertEqual(file.samples.count, waveform.count)
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(file.samples, waveform), 2 / 32767)   // round(x·32767) read back as /32768
    }

    func testBadOptionsNameTheAcceptedRange() throws {
        let input = Fixtures.reference.appendingPathComponent("speech.safetensors").path
        let out = try temporaryDirectory("omni-t2w").appendingPathComponent("o.safetensors").path
        for (args, expected) in [(["--steps", "1"], "2...1000"), (["--steps", "5000"], "2...1000"),
                                 (["--solver", "heun"], "rk4, euler"), (["--guidance", "-1"], "0...10"),
                                 (["--speaker", "Bob"], "Chelsie, Ethan")] {
            let r = try run(["token2wav", Fixtures.tinyModel.path, "--inputs", input, "--out", out] + args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.err.contains(expected), "\(args): \(r.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) left an output")
        }
    }
}
