import BuiltinPlugins
import Foundation
import MediaBasic
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The processor (template + Whisper features + placeholder expansion) and WAV decoding.
final class OmniProcessorTests: XCTestCase {
    func processor() throws -> OmniProcessor {
        try OmniProcessor(directory: Fixtures.tinyModel, config: try OmniConfig.load(directory: Fixtures.tinyModel).thinker)
    }

    func testAudioTurnMatchesTheReferenceProcessor() throws {
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        // The fixture's prompt uses Qwen's speech system prompt.
        let input = try processor()([ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt),
                                     ChatMessage(role: "user", content: [.audio, .text("What do you hear?")])],
                                    waveforms: [try ref["waveform"]!.floats()])
        XCTAssertEqual(input.ids, try ref["input_ids"]!.int64s().map { Int($0) })
        XCTAssertEqual(try input.audioMask!.int64s(), try ref["feature_attention_mask"]!.int64s())
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try input.audioFeatures!.floats(), try ref["input_features"]!.floats()), 1e-3)
    }

    func rgb(_ t: Tensor, frame: Int? = nil) throws -> RGBImage {
        let s = t.shape, v = try t.int64s().map { UInt8($0) }
        guard let f = frame else { return RGBImage(width: s[1], height: s[0], pixels: v) }
        let n = s[1] * s[2] * 3
        return RGBImage(width: s[2], height: s[1], pixels: Array(v[(f * n)..<((f + 1) * n)]))
    }

    func testImageAndVideoTurnsMatchTheReferenceProcessor() throws {
        let system = ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt)
        let img = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let a = try processor()([system, ChatMessage(role: "user", content: [.image, .text("and"), .image, .text("Compare the two pictures.")])],
                                images: [try rgb(img["image_0_rgb"]!), try rgb(img["image_1_rgb"]!)])
        XCTAssertEqual(a.ids, try img["input_ids"]!.int64s().map { Int($0) })
        XCTAssertEqual(try a.pixelValues!.floats(), try img["pixel_values"]!.floats())

        let vid = try loadSafetensors(Fixtures.reference.appendingPathComponent("video.safetensors")).tensors
        let frames = try (0..<vid["video_rgb"]!.shape[0]).map { try rgb(vid["video_rgb"]!, frame: $0) }
        let b = try processor()([system, ChatMessage(role: "user", content: [.video, .text("Describe the clip.")])], videos: [frames])
        XCTAssertEqual(b.ids, try vid["input_ids"]!.int64s().map { Int($0) })
        XCTAssertEqual(b.secondsPerGrid, [1.0])
        XCTAssertEqual(b.videoGrids.flatMap { [Int64($0.t), Int64($0.h), Int64($0.w)] }, try vid["video_grid_thw"]!.int64s())
    }

    func testVideoWithItsAudioTrackInterleavesLikeTheReference() throws {
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("video_audio.safetensors")).tensors
        let frames = try (0..<ref["video_rgb"]!.shape[0]).map { try rgb(ref["video_rgb"]!, frame: $0) }
        let input = try processor()([ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt),
                                     ChatMessage(role: "user", content: [.video])],
                                    waveforms: [try ref["waveform"]!.floats()], videos: [frames], useAudioInVideo: true)
        XCTAssertEqual(input.ids, try ref["input_ids"]!.int64s().map { Int($0) })
        XCTAssertTrue(input.useAudioInVideo)
        XCTAssertEqual(try input.audioMask!.int64s(), try ref["feature_attention_mask"]!.int64s())
        XCTAssertThrowsError(try processor()([ChatMessage(role: "user", content: [.video])], videos: [frames], useAudioInVideo: true)) {
            XCTAssertTrue("\($0)".contains("audio track"), "\($0)")
        }
    }

    func testGenerationFromProcessedImagesMatchesTheReference() throws {
        let registry = BuiltinPlugins.registry()
        let model = try OmniModel.fromPretrained(Fixtures.tinyModel.path, registry: registry, executor: Executor(registry: registry))
        let img = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let input = try model.processor()([ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt),
                                           ChatMessage(role: "user", content: [.image, .text("and"), .image, .text("Compare the two pictures.")])],
                                          images: [try rgb(img["image_0_rgb"]!), try rgb(img["image_1_rgb"]!)])
        let expected = try img["generated"]!.int64s().map { Int($0) }
        let tokens = try model.generate(input: input, options: GenerationOptions(maxNewTokens: expected.count,
                                                                                 sampling: SamplingOptions(greedy: true, minNewTokens: expected.count)))
        XCTAssertEqual(tokens, expected)
    }

    func testPlaceholderAndWaveformCountsMustAgree() throws {
        let p = try processor()
        let turn = [ChatMessage(role: "user", content: [.audio, .audio, .text("x")])]
        XCTAssertThrowsError(try p(turn, waveforms: [[Float](repeating: 0.1, count: 1600)])) {
            XCTAssertTrue("\($0)".contains("2 item(s)"), "\($0)")
        }
        XCTAssertThrowsError(try p([ChatMessage(role: "user", content: [.audio])], waveforms: [[0.1, 0.2]])) {
            XCTAssertTrue("\($0)".contains("audio[0]") && "\($0)".contains("321 samples"), "\($0)")
        }
        // Two audios of different lengths: each <|AUDIO|> becomes its own count, in order.
        let input = try p(turn, waveforms: [[Float](repeating: 0.1, count: 1600), [Float](repeating: 0.2, count: 3200)])
        let audioID = p.audioTokenID
        var runs: [Int] = [], run = 0
        for id in input.ids + [-1] {
            if id == audioID { run += 1 } else if run > 0 { runs.append(run); run = 0 }
        }
        XCTAssertEqual(runs, [AudioEncoder.tokens(frames: 10), AudioEncoder.tokens(frames: 20)])
        XCTAssertEqual(input.audioFeatures?.shape[0], 2)
    }

    func testWAVDecodesEveryFormatAndDownmixes() throws {
        func wav(format: Int, bits: Int, channels: Int, rate: Int = 16000, payload: [UInt8]) -> Data {
            var d = Data()
            func p32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
            func p16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
            d.append(contentsOf: "RIFF".utf8); p32(36 + payload.count); d.append(contentsOf: "WAVE".utf8)
            d.append(contentsOf: "fmt ".utf8); p32(16); p16(format); p16(channels); p32(rate)
            p32(rate * channels * bits / 8); p16(channels * bits / 8); p16(bits)
            d.append(contentsOf: "data".utf8); p32(payload.count); d.append(contentsOf: payload)
            return d
        }
        // PCM16 stereo: (16384, -16384) → 0; (32767, 32767) → ~1.
        let s16 = try WAVFile(data: wav(format: 1, bits: 16, channels: 2, payload: [0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F, 0xFF, 0x7F]))
        XCTAssertEqual(s16.samples.count, 2)
        XCTAssertEqual(s16.samples[0], 0, accuracy: 1e-6)
        XCTAssertEqual(s16.samples[1], 32767 / 32768, accuracy: 1e-6)
        // PCM24 mono: -8388608 → -1, 4194304 → 0.5.
        let s24 = try WAVFile(data: wav(format: 1, bits: 24, channels: 1, payload: [0x00, 0x00, 0x80, 0x00, 0x00, 0x40]))
        XCTAssertEqual(s24.samples, [-1, 0.5])
        // PCM8 (unsigned, 128 = 0).
        XCTAssertEqual(try WAVFile(data: wav(format: 1, bits: 8, channels: 1, payload: [128, 192])).samples, [0, 0.5])
        // Float32 round trip through the writer.
        let dir = try temporaryDirectory("omni-wav")
        let x: [Float] = [0, 0.25, -0.75, 1e-8]
        try WAVFile.writeFloat32(x, sampleRate: 22050, to: dir.appendingPathComponent("a.wav").path)
        let back = try WAVFile(path: dir.appendingPathComponent("a.wav").path)
        XCTAssertEqual(back.samples, x)
        XCTAssertEqual(back.sampleRate, 22050)
    }

    func testMalformedWAVIsATypedErrorNeverACrash() {
        let good: [UInt8] = Array("RIFF".utf8) + [40, 0, 0, 0] + Array("WAVE".utf8) + Array("fmt ".utf8) + [16, 0, 0, 0, 1, 0, 1, 0,
            0x80, 0x3E, 0, 0, 0, 0x7D, 0, 0, 2, 0, 16, 0] + Array("data".utf8) + [4, 0, 0, 0, 1, 2, 3, 4]
        XCTAssertNoThrow(try WAVFile(data: Data(good)))
        var cases: [(String, [UInt8])] = [("empty", []), ("not RIFF", Array("RIFX".utf8) + Array(good.dropFirst(4))),
                                          ("no data", Array(good.prefix(36))), ("no fmt", Array(good.prefix(12)) + Array(good.suffix(16)))]
        var badFormat = good; badFormat[20] = 2                  // ADPCM
        var zeroChannels = good; zeroChannels[22] = 0
        var oddBits = good; oddBits[34] = 12
        var hugeChunk = good; hugeChunk[16] = 0xFF; hugeChunk[17] = 0xFF; hugeChunk[18] = 0xFF; hugeChunk[19] = 0x7F
        cases += [("ADPCM", badFormat), ("0 channels", zeroChannels), ("12 bits", oddBits), ("huge fmt size", hugeChunk)]
        for n in stride(from: 0, to: good.count, by: 3) { cases.append(("truncated at \(n)", Array(good.prefix(n)))) }
        for (name, bytes) in cases where bytes.count < good.count || name != "truncated" {
            do {
                _ = try WAVFile(data: Data(bytes), path: "x.wav")
                if !name.hasPrefix("truncated") { XCTFail("\(name): accepted") }
            } catch {
                XCTAssertTrue("\(error)".contains("x.wav"), "\(name): \(error)")
            }
        }
    }

    func testPPMDecodesAndRefusesMalformedFilesWithoutCrashing() throws {
        let good = Array("P6\n# comment\n2 1\n255\n".utf8) + [255, 0, 0, 0, 0, 255]
        XCTAssertEqual(try PPMFile.decode(good), RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 0, 255]))
        let grey = Array("P5 2 1 15 ".utf8) + [15, 0]   // maxval 15 scales to 255
        XCTAssertEqual(try PPMFile.decode(grey).pixels, [255, 255, 255, 0, 0, 0])
        for n in 0..<good.count {
            XCTAssertThrowsError(try PPMFile.decode(Array(good.prefix(n)), path: "t.ppm"), "prefix \(n)") {
                XCTAssertTrue("\($0)".contains("t.ppm"), "\($0)")
            }
        }
        for bad in ["P3 1 1 255 0 0 0", "P6 0 1 255 ", "P6 1 1 256 ", "P6 99999999999999999999 1 255 ", "P6 -1 1 255 "] {
            XCTAssertThrowsError(try PPMFile.decode(Array(bad.utf8) + [0, 0, 0], path: "t.ppm"), bad)
        }
    }
}
