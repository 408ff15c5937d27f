import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Token2wav against transformers 5.17.0 (`speech.safetensors`: `codes` and `noise` in, the DiT's `mel` and
/// the vocoder's `waveform` out; speaker, steps, guidance and sway from the file's metadata), each within 1e-3 of
/// max|reference|, on every speech reference (two checkpoints of different DiT/BigVGAN shapes, two speakers); and
/// the end-to-end runs' token2wav stage (`e2e_codes`, `e2e_noise` → `e2e_waveform`; the fixture scripts call
/// `generate` with `token2wav_num_steps=4`).
final class Token2WavParityTests: XCTestCase {
    struct Case {
        let name: String
        let model: URL
        let reference: [String: Tensor]
        let speaker: String
        let steps: Int
        let guidance: Float
        let sway: Float
    }

    func cases() throws -> [Case] {
        try Fixtures.speechReferences.map { c in
            let (t, meta) = try loadSafetensors(c.file)
            func value(_ k: String) throws -> String {
                try XCTUnwrap(meta[k], "\(c): metadata \(k)").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return Case(name: c.name, model: c.model, reference: t, speaker: try value("speaker"),
                        steps: try XCTUnwrap(Int(try value("num_steps"))), guidance: try XCTUnwrap(Float(try value("guidance_scale"))),
                        sway: try XCTUnwrap(Float(try value("sway_coefficient"))))
        }
    }

    func load(_ c: Case, attention: [String] = ["flash_attention_2"]) throws -> Token2Wav {
        let registry = BuiltinPlugins.registry()
        let t2w = try Token2Wav.load(directory: c.model, registry: registry, executor: Executor(registry: registry),
                                     attention: attention)
        t2w.guidanceScale = c.guidance
        t2w.swayCoefficient = c.sway
        return t2w
    }

    func testMelAndWaveformMatchReference() throws {
        for c in try cases() {
          // Eager (the oracle) on the public case; the segment-skipping backend everywhere (debug builds are slow).
          for backend in c.name == "public" ? ["eager", "flash_attention_2"] : ["flash_attention_2"] {
            let t2w = try load(c, attention: [backend])
            let codes = try XCTUnwrap(c.reference["codes"]).int64s().map { Int($0) }
            let mel = try t2w.mel(codes: codes, speaker: c.speaker, noise: try XCTUnwrap(c.reference["noise"]), steps: c.steps)
            let want = try XCTUnwrap(c.reference["mel"])
            XCTAssertEqual(mel.shape, want.shape, c.name)
            let melErr = Tolerance.relativeMaxError(try mel.floats(), try want.floats())
            let wav = try t2w.waveform(mel: mel)
            let wantWav = try XCTUnwrap(c.reference["waveform"]).floats()
            XCTAssertEqual(wav.elementCount, wantWav.count, c.name)
            let wavErr = Tolerance.relativeMaxError(try wav.floats(), wantWav)
            print("token2wav parity (\(c.name), \(c.speaker), \(codes.count) codes, \(c.steps) rk4 steps, \(backend)): "
                  + "mel rel err \(melErr), waveform rel err \(wavErr)")
            XCTAssertLessThanOrEqual(melErr, 1e-3, "\(c.name) \(backend)")
            XCTAssertLessThanOrEqual(wavErr, 1e-3, "\(c.name) \(backend)")
          }
        }
    }

    func testEndToEndStageMatchesReference() throws {
        // One end-to-end run per checkpoint (the variant's Chelsie run adds nothing the Ethan run does not).
        for c in try cases() where c.name != "spk" {
            let t2w = try load(c)
            let codes = try XCTUnwrap(c.reference["e2e_codes"]).int64s().map { Int($0) }
            let wav = try t2w.waveform(codes: codes, speaker: c.speaker, noise: try XCTUnwrap(c.reference["e2e_noise"]), steps: 4)
            let want = try XCTUnwrap(c.reference["e2e_waveform"]).floats()
            XCTAssertEqual(wav.elementCount, want.count, c.name)
            let err = Tolerance.relativeMaxError(try wav.floats(), want)
            print("token2wav e2e stage (\(c.name), \(c.speaker), \(codes.count) codes): waveform rel err \(err)")
            XCTAssertLessThanOrEqual(err, 1e-3, c.name)
        }
    }

    /// The segment windows cover exactly the keys `_create_block_diff` allows, per guidance branch.
    func testBlockWindowsMatchTheBlockDifferenceMask() {
        for (t, bs, back, ahead, branches) in [(60, 24, 1, 0, 2), (60, 24, 0, 1, 2), (50, 16, 1, 1, 1), (7, 4, 1, 1, 2),
                                               (48, 24, 0, 0, 2), (5, 24, 1, 1, 1)] {
            let w = DiT.windows(frames: t, branches: branches, blockSize: bs, back: back, ahead: ahead)
            let gather = w.gather ?? Array(0..<(branches * t))
            XCTAssertEqual(w.segments.last, gather.count)
            XCTAssertEqual(w.pick.count, branches * t)
            for i in 0..<(branches * t) {
                let pos = w.pick[i]
                XCTAssertEqual(gather[pos], i, "row \(i) picks its own output")
                let seg = w.segments.lastIndex { $0 <= pos }!
                let keys = Set(gather[w.segments[seg]..<w.segments[seg + 1]])
                let want = Set((0..<(branches * t)).filter { j in
                    let d = (j % t) / bs - (i % t) / bs
                    return j / t == i / t && d >= -back && d <= ahead
                })
                XCTAssertEqual(keys, want, "t \(t) bs \(bs) back \(back) ahead \(ahead) row \(i)")
            }
        }
    }
}
