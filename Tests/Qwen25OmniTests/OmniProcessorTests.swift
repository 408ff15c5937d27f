import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The processor (template + Whisper features + placeholder expansion) and WAV decoding.
final class OmniProcessorTests: XCTestCase {
    func processor() throws -> OmniProcessor {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel)
        return OmniProcessor(tokenizer: try Tokenizer(directory: Fixtures.tinyModel.path),
                             audio: try WhisperFeatureExtractor(directory: Fixtures.tinyModel), audioTokenID: config.thinker.audioTokenID)
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

    func testPlaceholderAndWaveformCountsMustAgree() throws {
        let p = try processor()
        let turn = [ChatMessage(role: "user", content: [.audio, .audio, .text("x")])]
        XCTAssertThrowsError(try p(turn, waveforms: [[Float](repeating: 0.1, count: 1600)])) {
            XCTAssertTrue("\($0)".contains("2 waveform(s)"), "\($0)")
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
}
