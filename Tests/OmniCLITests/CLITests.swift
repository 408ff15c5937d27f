import BuiltinPlugins
import Foundation
import MediaBasic
import OmniCore
import OmniTestSupport
import Qwen25Omni
import XCTest

/// End-to-end checks of the `omni` binary (`OmniCLI`: built with this target, or the one `OMNI_CLI` names;
/// scripts/test.sh reruns these against the release build: the optimizer ends object lifetimes early, and a
/// pointer kept past its owner's last use reads freed memory only there).
final class CLITests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try OmniCLI.run(args)
        return (r.status, r.out, r.err)
    }

    func testForwardWritesReferenceLogits() throws {
        let dir = try temporaryDirectory("omni-cli")
        let out = dir.appendingPathComponent("out.safetensors")
        for cp in Fixtures.checkpoints {
            let input = cp.reference.appendingPathComponent("text.safetensors")
            let ref = try loadSafetensors(input).tensors
            for attention in ["eager", "flash_attention_2"] {
                let r = try run(["forward", cp.model.path, "--inputs", input.path, "--out", out.path, "--attention", attention])
                XCTAssertEqual(r.status, 0, r.err)
                let got = try loadSafetensors(out).tensors
                for name in ["logits", "last_hidden"] {
                    XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try got[name]!.floats(), try ref[name]!.floats()), 1e-4,
                                             "\(cp) \(attention) \(name)")
                }
                XCTAssertEqual(try got["position_ids"]!.int64s(), try ref["position_ids"]!.int64s(), "\(cp)")
            }
        }
    }

    /// Audio processor outputs (input_features + feature_attention_mask) through the audio tower into the
    /// thinker: the reference's last 16 logits rows, last_hidden, positions and 12 greedy tokens.
    func testForwardAndGenerateWithAudioFeatures() throws {
        let dir = try temporaryDirectory("omni-cli")
        let out = dir.appendingPathComponent("out.safetensors")
        let input = Fixtures.reference.appendingPathComponent("audio.safetensors")
        let ref = try loadSafetensors(input).tensors
        let r = try run(["forward", Fixtures.tinyModel.path, "--inputs", input.path, "--out", out.path])
        XCTAssertEqual(r.status, 0, r.err)
        let got = try loadSafetensors(out).tensors
        let logits = try got["logits"]!.floats(), vocab = got["logits"]!.shape[1]
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(Array(logits.suffix(16 * vocab)), try ref["logits_tail"]!.floats()), 1e-4)
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try got["last_hidden"]!.floats(), try ref["last_hidden"]!.floats()), 1e-4)
        XCTAssertEqual(try got["position_ids"]!.int64s(), try ref["position_ids"]!.int64s())

        let expected = try ref["generated"]!.int64s().map { Int($0) }
        let g = try run(["generate", Fixtures.tinyModel.path, "--inputs", input.path, "--greedy", "--json",
                         "--max-new-tokens", "\(expected.count)", "--min-new-tokens", "\(expected.count)"])
        XCTAssertEqual(g.status, 0, g.err)
        let obj = try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["tokens"] as? [Int], expected)
    }

    /// Images, video, video with its audio interleaved (`use_audio_in_video`) and audio, as processor outputs, on
    /// every checkpoint that has the reference: the last 16 logits rows, last_hidden, 3-D positions
    /// (get_rope_index) and 12 greedy tokens.
    func testForwardAndGenerateWithImagesAndVideo() throws {
        let dir = try temporaryDirectory("omni-cli")
        let out = dir.appendingPathComponent("out.safetensors")
        let cases = Fixtures.checkpoints.flatMap { cp in ["image", "video", "video_audio", "audio"].map { (cp, $0) } }
            .filter { FileManager.default.fileExists(atPath: $0.0.reference.appendingPathComponent("\($0.1).safetensors").path) }
        XCTAssertGreaterThanOrEqual(cases.count, 6)
        for (cp, kind) in cases {
            let name = "\(cp) \(kind)"
            let input = cp.reference.appendingPathComponent("\(kind).safetensors")
            let ref = try loadSafetensors(input).tensors
            let r = try run(["forward", cp.model.path, "--inputs", input.path, "--out", out.path])
            XCTAssertEqual(r.status, 0, "\(name): \(r.err)")
            let got = try loadSafetensors(out).tensors
            let logits = try got["logits"]!.floats(), vocab = got["logits"]!.shape[1]
            XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(Array(logits.suffix(16 * vocab)), try ref["logits_tail"]!.floats()), 1e-4, name)
            XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try got["last_hidden"]!.floats(), try ref["last_hidden"]!.floats()), 1e-4, name)
            XCTAssertEqual(try got["position_ids"]!.int64s(), try ref["position_ids"]!.int64s(), name)

            let expected = try ref["generated"]!.int64s().map { Int($0) }
            let g = try run(["generate", cp.model.path, "--inputs", input.path, "--greedy", "--json",
                             "--max-new-tokens", "\(expected.count)", "--min-new-tokens", "\(expected.count)"])
            XCTAssertEqual(g.status, 0, "\(name): \(g.err)")
            let obj = try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any]
            XCTAssertEqual(obj?["tokens"] as? [Int], expected, name)
            // Prefilled in chunks of 7 (every media span split), the towers one 2 s window / one t-slice a run: the same tokens.
            let c = try run(["generate", cp.model.path, "--inputs", input.path, "--greedy", "--json", "--prefill-chunk", "7",
                             "--audio-windows", "1", "--vision-slices", "1",
                             "--max-new-tokens", "\(expected.count)", "--min-new-tokens", "\(expected.count)"])
            XCTAssertEqual(c.status, 0, "\(name) --prefill-chunk 7 --audio-windows 1 --vision-slices 1: \(c.err)")
            let chunked = try JSONSerialization.jsonObject(with: Data(c.out.utf8)) as? [String: Any]
            XCTAssertEqual(chunked?["tokens"] as? [Int], expected, "\(name) --prefill-chunk 7")
        }
    }

    /// Two PPM images through `generate --image`: transformers' 12 greedy tokens.
    func testGenerateFromPPMImages() throws {
        let dir = try temporaryDirectory("omni-cli")
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let paths = try writeFixtureImages(ref, to: dir)
        // The fixture's turn is image, "and", image, text; --image puts both images first, so compare through
        // the processor outputs instead: preprocess with the same layout must give the reference pixel_values.
        let out = dir.appendingPathComponent("in.safetensors")
        let p = try run(["preprocess", Fixtures.tinyModel.path, "--image", paths[0], "--image", paths[1], "--prompt", "x", "--out", out.path])
        XCTAssertEqual(p.status, 0, p.err)
        let got = try loadSafetensors(out).tensors
        XCTAssertEqual(try got["pixel_values"]!.floats(), try ref["pixel_values"]!.floats())
        XCTAssertEqual(try got["image_grid_thw"]!.int64s(), try ref["image_grid_thw"]!.int64s())
        let g = try run(["generate", Fixtures.tinyModel.path, "--image", paths[0], "--prompt", "What is this?", "--max-new-tokens", "3", "--json"])
        XCTAssertEqual(g.status, 0, g.err)
        let bad = dir.appendingPathComponent("bad.ppm").path
        try Data("P6\n4 4\n255\n".utf8).write(to: URL(fileURLWithPath: bad))
        let b = try run(["generate", Fixtures.tinyModel.path, "--image", bad, "--prompt", "x"])
        XCTAssertNotEqual(b.status, 0)
        XCTAssertTrue(b.err.contains("bad.ppm") && b.err.contains("pixel bytes"), b.err)
    }

    /// `--message` places media where the user put them: the fixture's turn (image, "and", image, text) gives the
    /// reference input_ids and pixel_values exactly; a video with its audio track through `--video
    /// --use-audio-in-video` writes the video tensors and metadata; conflicting options are refused.
    func testMessageJSONAndVideoOptions() throws {
        let dir = try temporaryDirectory("omni-cli")
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let paths = try writeFixtureImages(ref, to: dir)
        let message: [[String: Any]] = [
            ["role": "system", "content": ChatTemplate.speechSystemPrompt],
            ["role": "user", "content": [["type": "image", "image": paths[0]], ["type": "text", "text": "and"],
                                         ["type": "image", "image": paths[1]], ["type": "text", "text": "Compare the two pictures."]]],
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        let out = dir.appendingPathComponent("in.safetensors")
        let p = try run(["preprocess", Fixtures.tinyModel.path, "--message", json, "--out", out.path])
        XCTAssertEqual(p.status, 0, p.err)
        let got = try loadSafetensors(out).tensors
        XCTAssertEqual(try got["input_ids"]!.int64s(), try ref["input_ids"]!.int64s())
        XCTAssertEqual(try got["pixel_values"]!.floats(), try ref["pixel_values"]!.floats())
        let file = dir.appendingPathComponent("message.json")
        try Data(json.utf8).write(to: file)
        XCTAssertEqual(try run(["preprocess", Fixtures.tinyModel.path, "--message", "@" + file.path, "--out", out.path]).status, 0)
        let both = try run(["preprocess", Fixtures.tinyModel.path, "--message", json, "--prompt", "x", "--out", out.path])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.err.contains("--message"), both.err)
        let badFPS = try run(["preprocess", Fixtures.tinyModel.path, "--prompt", "x", "--video-fps", "0", "--out", out.path])
        XCTAssertNotEqual(badFPS.status, 0)
        XCTAssertTrue(badFPS.err.contains("--video-fps"), badFPS.err)
        #if FFmpeg
        guard FFmpegCLI.path != nil else { throw XCTSkip("the ffmpeg CLI is not installed (it makes the test video)") }
        let mp4 = dir.appendingPathComponent("clip.mp4").path
        try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=3", "-f", "lavfi", "-i", "sine=f=300:d=3:sample_rate=44100",
                           "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac", "-shortest", mp4])
        let v = try run(["preprocess", Fixtures.tinyModel.path, "--video", mp4, "--use-audio-in-video", "--video-max-frames", "4",
                         "--prompt", "What happens?", "--out", out.path])
        XCTAssertEqual(v.status, 0, v.err)
        let vt = try loadSafetensors(out)
        // 75 frames at 25 fps, 2 fps capped at 4 frames: grid t = 2; sample_fps = 4 / 75 · 25.
        XCTAssertEqual(try vt.tensors["video_grid_thw"]!.int64s().first, 2)
        XCTAssertEqual(vt.metadata["use_audio_in_video"], "true")
        XCTAssertEqual(vt.metadata["video_second_per_grid"], "[\(2.0 / (4.0 / 75.0 * 25.0))]")
        XCTAssertNotNil(vt.tensors["input_features"])
        #endif
    }

    /// Audio longer than the 30 s window: a warning naming the file (the extractor keeps 30 s), or with
    /// `--audio-segments` consecutive 30 s items, one placeholder each.
    func testLongAudioWarnsOrIsSegmented() throws {
        let dir = try temporaryDirectory("omni-cli")
        let wav = dir.appendingPathComponent("long.wav").path
        try WAVFile.writeFloat32((0..<(16000 * 35)).map { Float(sin(Double($0) * 0.03)) * 0.2 }, sampleRate: 16000, to: wav)
        let out = dir.appendingPathComponent("in.safetensors")
        let plain = try run(["preprocess", Fixtures.tinyModel.path, "--audio", wav, "--prompt", "x", "--out", out.path])
        XCTAssertEqual(plain.status, 0, plain.err)
        XCTAssertTrue(plain.err.contains("warning") && plain.err.contains("long.wav") && plain.err.contains("35.0 s"), plain.err)
        XCTAssertEqual(try loadSafetensors(out).tensors["feature_attention_mask"]!.shape[0], 1)
        let split = try run(["preprocess", Fixtures.tinyModel.path, "--audio", wav, "--audio-segments", "--prompt", "x", "--out", out.path])
        XCTAssertEqual(split.status, 0, split.err)
        XCTAssertFalse(split.err.contains("warning"), split.err)
        let t = try loadSafetensors(out).tensors
        XCTAssertEqual(t["feature_attention_mask"]!.shape[0], 2)
        // The second item is the last 5 s: 500 feature frames.
        XCTAssertEqual(try t["feature_attention_mask"]!.int64s()[3000...].reduce(0, +), 500)
    }

    /// A WAV file through `preprocess` and `generate --audio`: the reference processor's ids and features, and
    /// its 12 greedy tokens.
    func testPreprocessAndGenerateFromAWAVFile() throws {
        let dir = try temporaryDirectory("omni-cli")
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        let wav = dir.appendingPathComponent("in.wav").path
        try WAVFile.writeFloat32(try ref["waveform"]!.floats(), sampleRate: 16000, to: wav)
        let out = dir.appendingPathComponent("in.safetensors")
        let system = ChatTemplate.speechSystemPrompt   // the fixture's prompt uses it
        let p = try run(["preprocess", Fixtures.tinyModel.path, "--system", system, "--prompt", "What do you hear?", "--audio", wav,
                         "--out", out.path])
        XCTAssertEqual(p.status, 0, p.err)
        let got = try loadSafetensors(out).tensors
        XCTAssertEqual(try got["input_ids"]!.int64s(), try ref["input_ids"]!.int64s())
        XCTAssertEqual(try got["feature_attention_mask"]!.int64s(), try ref["feature_attention_mask"]!.int64s())
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try got["input_features"]!.floats(), try ref["input_features"]!.floats()), 1e-3)

        let expected = try ref["generated"]!.int64s().map { Int($0) }
        let g = try run(["generate", Fixtures.tinyModel.path, "--system", system, "--prompt", "What do you hear?", "--audio", wav,
                         "--greedy", "--json",
                         "--max-new-tokens", "\(expected.count)", "--min-new-tokens", "\(expected.count)"])
        XCTAssertEqual(g.status, 0, g.err)
        let obj = try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["tokens"] as? [Int], expected)

        // A WAV at another rate is resampled: 1 s at 44.1 kHz gives the placeholders of 1 s at 16 kHz (25);
        // a rate with no small ratio to 16 kHz is refused with the file and the rate it needs.
        try WAVFile.writeFloat32((0..<44100).map { Float(sin(Double($0) * 0.07)) * 0.3 }, sampleRate: 44100, to: wav)
        let p44 = try run(["preprocess", Fixtures.tinyModel.path, "--prompt", "x", "--audio", wav, "--out", out.path])
        XCTAssertEqual(p44.status, 0, p44.err)
        let audioID = Int64(try OmniConfig.load(directory: Fixtures.tinyModel).thinker.audioTokenID)
        XCTAssertEqual(try loadSafetensors(out).tensors["input_ids"]!.int64s().filter { $0 == audioID }.count, 25)
        try WAVFile.writeFloat32([0.1, 0.2], sampleRate: 44101, to: wav)
        let bad = try run(["generate", Fixtures.tinyModel.path, "--prompt", "x", "--audio", wav])
        XCTAssertNotEqual(bad.status, 0)
        #if FFmpeg
        // libswresample converts any rate; two samples are too short to give one audio token.
        XCTAssertTrue(bad.err.contains("in.wav") || bad.err.contains("audio"), bad.err)
        #else
        XCTAssertTrue(bad.err.contains("16000 Hz") && bad.err.contains("in.wav"), bad.err)
        #endif
    }

    func testGenerateJSONAndBadArguments() throws {
        let r = try run(["generate", Fixtures.tinyModel.path, "--prompt", "hi", "--max-new-tokens", "5", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        XCTAssertEqual((obj?["tokens"] as? [Int])?.count, 5)
        XCTAssertNotNil(obj?["text"] as? String)

        let bad = try run(["generate", Fixtures.tinyModel.path, "--prompt", "hi", "--max-memory", "cpu=lots"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("--max-memory"), bad.err)

        let missing = try run(["generate", "/nonexistent/model", "--prompt", "hi"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.err.contains("/nonexistent/model"), missing.err)
    }

    func testBudgetThatSpillsLayersToDiskGivesTheSameTokens() throws {
        func tokens(_ extra: [String]) throws -> (tokens: [Int], err: String) {
            let r = try run(["generate", Fixtures.tinyModel.path, "--prompt", "hello there", "--max-new-tokens", "8",
                             "--json", "--report-memory"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            return ((obj?["tokens"] as? [Int]) ?? [], r.err)
        }
        let all = try tokens([])
        // 1.5 MiB holds the KV cache, the activations (planned for the smallest prefill chunk first) and about half of
        // the weights; the rest is paged in from disk.
        let spilled = try tokens(["--max-memory", "cpu=1.5MiB"])
        XCTAssertEqual(all.tokens.count, 8)
        XCTAssertEqual(spilled.tokens, all.tokens)
        XCTAssertTrue(spilled.err.contains("of 1.50 MiB"), spilled.err)
        XCTAssertFalse(spilled.err.contains("on disk 0 B"), spilled.err)
        // A budget below what KV cache and activations need is refused up front with the smallest that works.
        let refused = try run(["generate", Fixtures.tinyModel.path, "--prompt", "hi", "--max-memory", "cpu=100KiB"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.err.contains("smallest budget that would work"), refused.err)
    }

    /// `omni plan --device-map cuda:0` plans for the GPU without one being present (headers only): weights, KV cache
    /// and activations in the GPU's line, chunks sized for its budget; a budget too small is refused naming the GPU
    /// and the budget that fits; `cuda:0` is no longer read as a placement strategy's name.
    func testPlanForAGPUWithoutOne() throws {
        let ok = try run(["plan", Fixtures.tinyModel.path, "--device-map", "cuda:0", "--max-memory", "cuda:0=96MiB",
                          "--video-seconds", "10"])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.contains("cuda:0 (runs every graph): weights"), ok.out)
        XCTAssertTrue(ok.out.contains("fit the cuda:0 budget"), ok.out)
        XCTAssertFalse(ok.err.contains("no placement strategy"), ok.err)
        let small = try run(["plan", Fixtures.tinyModel.path, "--device-map", "cuda:0", "--max-memory", "cuda:0=2MiB"])
        XCTAssertNotEqual(small.status, 0)
        XCTAssertTrue(small.err.contains("cuda:0=2.00 MiB does not hold") && small.err.contains("--max-memory cuda:0="), small.err)
    }

    /// `omni talk --inputs speech.safetensors`: the reference's 8 greedy thinker tokens and 40 greedy talker codes
    /// (speaker from the reference's metadata, its BOS read from spk_dict.pt), and the option errors.
    func testTalkPrintsTheReferenceCodes() throws {
        for sr in Fixtures.speechReferences {
            let cp = sr.checkpoint, input = sr.file
            let (ref, meta) = try loadSafetensors(input)
            let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
            let tokens = Array(try XCTUnwrap(ref["thinker_sequence"]).int64s().map { Int($0) }.dropFirst(ids.count))
            let codes = try XCTUnwrap(ref["e2e_codes"]).int64s().map { Int($0) }
            let speaker = try XCTUnwrap(meta["speaker"]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let bos = try Speakers.load(directory: cp.model, registry: BuiltinPlugins.registry()).voice(named: speaker).bosToken
            let r = try run(["talk", cp.model.path, "--inputs", input.path, "--speaker-bos", "\(bos)", "--max-new-tokens",
                             "\(tokens.count)", "--talker-greedy", "--talker-max-new-tokens", "\(codes.count)",
                             "--talker-min-new-tokens", "\(codes.count)", "--json"])
            XCTAssertEqual(r.status, 0, r.err)
            let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            XCTAssertEqual(obj?["tokens"] as? [Int], tokens, "\(sr)")
            XCTAssertEqual(obj?["codes"] as? [Int], codes, "\(sr)")
        }
        let streamed = try run(["talk", Fixtures.tinyModel.path, "--prompt", "hi", "--speaker-bos", "2038", "--max-new-tokens", "3",
                                "--talker-max-new-tokens", "6", "--talker-min-new-tokens", "6"])
        XCTAssertEqual(streamed.status, 0, streamed.err)
        let line = try XCTUnwrap(streamed.out.split(separator: "\n").first { $0.hasPrefix("codes:") })
        XCTAssertEqual(line.split(separator: " ").count, 7, String(line))
        let cases: [([String], [String])] = [
            (["--talker-max-new-tokens", "0"], ["--talker-max-new-tokens", "1...1000000", "got 0"]),
            (["--talker-max-new-tokens", "4", "--talker-min-new-tokens", "5"], ["--talker-min-new-tokens", "0...4", "got 5"]),
            (["--max-new-tokens", "1"], ["--max-new-tokens", "2...", "got 1"]),
            (["--speaker-bos=-3"], ["--speaker-bos", "got -3"]),
            (["--speaker-bos", "999999"], ["--speaker-bos", "0..<2048", "999999"]),
        ]
        for (extra, words) in cases {
            var args = ["talk", Fixtures.tinyModel.path, "--prompt", "hi"]
            if !extra.contains(where: { $0.hasPrefix("--speaker-bos") }) { args += ["--speaker-bos", "2038"] }
            let bad = try run(args + extra)
            XCTAssertNotEqual(bad.status, 0, "\(extra)")
            for w in words { XCTAssertTrue(bad.err.contains(w), "\(extra): \(bad.err)") }
        }
    }

    /// The image fixture's two RGB images written as PPM files in `dir`; their paths.
    func writeFixtureImages(_ ref: [String: Tensor], to dir: URL) throws -> [String] {
        try ["image_0_rgb", "image_1_rgb"].map { name in
            let t = try XCTUnwrap(ref[name])
            let path = dir.appendingPathComponent("\(name).ppm").path
            try PPMFile.write(RGBImage(width: t.shape[1], height: t.shape[0], pixels: try t.int64s().map { UInt8($0) }), to: path)
            return path
        }
    }
}
