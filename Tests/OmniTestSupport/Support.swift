import Foundation
import OmniCore

/// Paths to the fixtures a fresh clone carries.
public enum Fixtures {
    /// The repository root (found from this file's location).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()
    /// The bundled tiny Qwen2.5-Omni checkpoint (copied from shared/fixtures/tiny-omni-public).
    public static var tinyModel: URL { root.appendingPathComponent("Models/tiny-omni") }
    /// Reference outputs computed by transformers 5.17.0 from the tiny checkpoint.
    public static var reference: URL { root.appendingPathComponent("Tests/Fixtures/reference") }

    /// A checkpoint with the transformers reference outputs computed from it.
    public struct Checkpoint: Sendable, CustomStringConvertible {
        public let name: String
        public let model: URL
        public let reference: URL
        public var description: String { name }
    }

    /// Every checkpoint the parity suites run on: the public tiny one (hub config spelling, hidden 64, GQA 4:2,
    /// 2 layers) and the variants Tests/Fixtures/make_variants.py made (gqa5: hidden 80, GQA 5:1, 3 layers,
    /// mrope [4, 2, 2], the `rope_parameters` spelling).
    public static var checkpoints: [Checkpoint] {
        [Checkpoint(name: "public", model: tinyModel, reference: reference),
         Checkpoint(name: "gqa5", model: root.appendingPathComponent("Tests/Fixtures/variants/gqa5"),
                    reference: root.appendingPathComponent("Tests/Fixtures/variants/gqa5/reference"))]
    }

    /// The speaker variant (Tests/Fixtures/variants/spk, from make_speech_variants.py): talker hidden 80, 5 heads over
    /// 1 KV head, 3 layers, mrope [2, 4, 2]; thinker hidden 72; the `rope_parameters` spelling.
    public static var speakerVariant: Checkpoint {
        let spk = root.appendingPathComponent("Tests/Fixtures/variants/spk")
        return Checkpoint(name: "spk", model: spk, reference: spk.appendingPathComponent("reference"))
    }

    /// A speech reference (`speech*.safetensors`: `input_ids`, `thinker_sequence`, greedy `e2e_codes`, the speaker
    /// in the metadata) with the checkpoint it was computed from.
    public struct SpeechReference: Sendable, CustomStringConvertible {
        public let checkpoint: Checkpoint
        public let file: URL
        public var description: String { name }
        /// `checkpoint/file` (`spk/speech_ethan.safetensors`).
        public var name: String { "\(checkpoint.name)/\(file.lastPathComponent)" }
        /// The model folder the reference was computed from.
        public var model: URL { checkpoint.model }
    }

    /// Every speech reference: the public checkpoint's (Chelsie) and the speaker variant's (Chelsie, and Ethan with
    /// other lengths).
    public static var speechReferences: [SpeechReference] {
        var out: [SpeechReference] = []
        for c in [Checkpoint(name: "public", model: tinyModel, reference: reference), speakerVariant] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: c.reference.path)) ?? []
            for n in names.sorted() where n.hasPrefix("speech") && n.hasSuffix(".safetensors") {
                out.append(SpeechReference(checkpoint: c, file: c.reference.appendingPathComponent(n)))
            }
        }
        return out
    }
}

/// Tolerance helpers used by the parity suites.
public enum Tolerance {
    /// max |a − b| / max |b|: the fixtures README's relative measure.
    public static func relativeMaxError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
        var maxErr: Float = 0, maxRef: Float = 0
        for i in 0..<a.count {
            maxErr = max(maxErr, abs(a[i] - b[i]))
            maxRef = max(maxRef, abs(b[i]))
        }
        return maxRef > 0 ? maxErr / maxRef : maxErr
    }

    /// max |a − b|.
    public static func maxAbsError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
        return m
    }
}

/// The deterministic random source tests use (OmniCore's SplitMix64), so failures reproduce.
public typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}
