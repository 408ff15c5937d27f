import Foundation
import MediaBasic
import OmniCore
import OmniTestSupport
import XCTest

/// `omni generate --speak` as a user runs it: thinker → talker → streamed token2wav → WAV.
final class SpeakCLITests: XCTestCase {
    /// Greedy talker with a fixed code count: the WAV holds 2 mel frames × 240 samples per code, the JSON carries the
    /// codes, and `--speak -` writes the same WAV to standard output (the text to standard error).
    func testSpeakWritesAWAVOfTheCodesLength() throws {
        let dir = try temporaryDirectory("omni-speak")
        let wav = dir.appendingPathComponent("reply.wav")
        let args = ["generate", Fixtures.tinyModel.path, "--prompt", "Say hello.", "--max-new-tokens", "4",
                    "--talker-greedy", "--talker-min-new-tokens", "24", "--talker-max-new-tokens", "24",
                    "--token2wav-steps", "3"]
        let r = try OmniCLI.run(args + ["--speak", wav.path, "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let codes = try XCTUnwrap(obj["codes"] as? [Int])
        XCTAssertEqual(codes.count, 24)
        let file = try WAVFile(path: wav.path)
        XCTAssertEqual(file.sampleRate, 24_000)
        XCTAssertEqual(file.samples.count, codes.count * 2 * 240)
        XCTAssertGreaterThan(file.samples.map(abs).max() ?? 0, 1e-4, "silence")

        let piped = dir.appendingPathComponent("piped.wav")
        FileManager.default.createFile(atPath: piped.path, contents: nil)
        let handle = try FileHandle(forWritingTo: piped)
        let p = try OmniCLI.run(args + ["--speak", "-"], stdout: handle)
        try handle.close()
        XCTAssertEqual(p.status, 0, p.err)
        XCTAssertEqual(try Data(contentsOf: piped), try Data(contentsOf: wav), "the same WAV through standard output")
        XCTAssertFalse(p.err.isEmpty, "the text goes to standard error")
    }

    /// Bad speech options fail before anything runs, name the option and its range, and leave no file.
    func testSpeakOptionErrors() throws {
        let dir = try temporaryDirectory("omni-speak")
        let wav = dir.appendingPathComponent("x.wav").path
        let cases: [([String], [String])] = [
            (["--speak", wav, "--token2wav-steps", "1"], ["--token2wav-steps", "2 … 1000", "got 1"]),
            (["--speak", wav, "--talker-max-new-tokens", "0"], ["--talker-max-new-tokens", "got 0"]),
            (["--speak", dir.appendingPathComponent("x.mp3").path], ["--speak", ".wav"]),
            (["--speak", "-", "--json"], ["--speak -", "--json"]),
            (["--speak", wav, "--speaker", "Nobody"], ["Nobody", "Chelsie", "Ethan"]),
        ]
        for (extra, words) in cases {
            let r = try OmniCLI.run(["generate", Fixtures.tinyModel.path, "--prompt", "hi", "--max-new-tokens", "2"] + extra)
            XCTAssertFalse(r.signalled, "\(extra)")
            XCTAssertTrue((1...125).contains(r.status), "\(extra): status \(r.status)")
            for w in words { XCTAssertTrue(r.err.contains(w), "\(extra): \(w) not in \(r.err)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: wav), "\(extra) left \(wav)")
        }
    }
}
