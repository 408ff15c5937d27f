import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// config.json in both spellings, strict errors with key paths, unknown keys kept.
final class ConfigTests: XCTestCase {
    var fixtureJSON: JSONValue {
        get throws {
            let url = Fixtures.tinyModel.appendingPathComponent("config.json")
            return try JSONValue.parse(Data(contentsOf: url), file: url.path)
        }
    }

    /// Rewrites the published spelling as transformers 5 writes it: `rope_parameters` (with `rope_theta`
    /// inside) instead of `rope_scaling` + `rope_theta`, and `dtype` instead of `torch_dtype`.
    static func toTransformers5(_ v: JSONValue, key: String = "") -> JSONValue {
        switch v {
        case let .array(a): return .array(a.map { toTransformers5($0) })
        case var .object(o):
            for (k, child) in o { o[k] = toTransformers5(child, key: k) }
            if let d = o.removeValue(forKey: "torch_dtype") { o["dtype"] = d }
            if o["rope_scaling"] != nil || o["rope_theta"] != nil {
                var p = o.removeValue(forKey: "rope_scaling")?.objectValue ?? [:]
                p.removeValue(forKey: "type")
                if p["rope_type"] == nil { p["rope_type"] = .string(key == "vision_config" ? "axial" : "default") }
                if let t = o.removeValue(forKey: "rope_theta") { p["rope_theta"] = t }
                o["rope_parameters"] = .object(p)
            }
            return .object(o)
        default: return v
        }
    }

    /// Sets `value` at a dotted path (creating nothing; the path must exist up to its parent).
    static func set(_ v: JSONValue, _ path: [String], _ value: JSONValue?) -> JSONValue {
        guard case var .object(o) = v, let head = path.first else { return v }
        if path.count == 1 { o[head] = value } else if let child = o[head] {
            o[head] = set(child, Array(path.dropFirst()), value)
        }
        return .object(o)
    }

    func testFixtureConfigReadsAsPublished() throws {
        let c = try OmniConfig(raw: fixtureJSON)
        XCTAssertEqual(c.modelType, "qwen2_5_omni")
        XCTAssertEqual(c.dtype, .bf16)
        XCTAssertTrue(c.enableAudioOutput)
        let t = c.thinker.text
        XCTAssertEqual([t.vocabSize, t.hiddenSize, t.intermediateSize, t.layers, t.heads, t.kvHeads, t.headDim],
                       [2048, 64, 128, 2, 4, 2, 16])
        XCTAssertEqual(t.mropeSection, [2, 3, 3])
        XCTAssertEqual(t.ropeTheta, 1e6)
        XCTAssertEqual(t.rmsNormEps, 1e-6)
        XCTAssertNil(t.slidingWindow)
        XCTAssertEqual(c.thinker.visionStartTokenID, 2024)
        XCTAssertEqual(c.thinker.audioTokenID, 2018)
        XCTAssertFalse(c.thinker.tieWordEmbeddings)
        XCTAssertEqual(c.thinker.audio.nWindow, 100)
        XCTAssertEqual(c.thinker.vision.heads, 4)
        XCTAssertEqual(c.thinker.vision.ropeTheta, 10000)
        XCTAssertEqual(c.talker?.headDim, 16)
        XCTAssertEqual(c.talker?.codecPadTokenID, 8292)
        XCTAssertEqual(c.token2wav?.dit.encChannels, [32, 32, 32, 32, 96])
        XCTAssertEqual(c.token2wav?.bigvgan.hopLength, 240)
    }

    func testBothSpellingsGiveEqualConfigs() throws {
        let published = try fixtureJSON
        let t5 = Self.toTransformers5(published)
        XCTAssertNotNil(t5["thinker_config"]?["text_config"]?["rope_parameters"]?["mrope_section"])
        XCTAssertNil(t5["thinker_config"]?["text_config"]?["rope_scaling"])
        XCTAssertEqual(t5["dtype"], .string("bfloat16"))
        let a = try OmniConfig(raw: published), b = try OmniConfig(raw: t5)
        XCTAssertEqual(a.thinker, b.thinker)
        XCTAssertEqual(a.talker, b.talker)
        XCTAssertEqual(a.token2wav, b.token2wav)
        XCTAssertEqual(a.dtype, b.dtype)
        XCTAssertEqual(a.enableAudioOutput, b.enableAudioOutput)
        XCTAssertNotEqual(a.raw, b.raw)
    }

    func testWrongTypeNamesKeyPathAndTypes() throws {
        let bad = Self.set(try fixtureJSON, ["thinker_config", "text_config", "hidden_size"], .string("64"))
        XCTAssertThrowsError(try OmniConfig(raw: bad, file: "cfg.json")) { e in
            XCTAssertEqual(e as? OmniError, .config(file: "cfg.json", keyPath: "thinker_config.text_config.hidden_size",
                                                     expected: "integer", actual: "string \"64\""))
        }
        let badArray = Self.set(try fixtureJSON, ["thinker_config", "text_config", "rope_scaling", "mrope_section"],
                                .array([.int(2), .string("x"), .int(3)]))
        XCTAssertThrowsError(try OmniConfig(raw: badArray)) { e in
            XCTAssertTrue("\(e)".contains("thinker_config.text_config.rope_scaling.mrope_section[1]"), "\(e)")
        }
    }

    func testMissingKeyNamesKeyPath() throws {
        let bad = Self.set(try fixtureJSON, ["talker_config", "num_hidden_layers"], nil)
        XCTAssertThrowsError(try OmniConfig(raw: bad)) { e in
            XCTAssertEqual(e as? OmniError, .config(file: "config.json", keyPath: "talker_config.num_hidden_layers",
                                                     expected: "integer", actual: "missing"))
        }
        let noThinker = Self.set(try fixtureJSON, ["thinker_config"], nil)
        XCTAssertThrowsError(try OmniConfig(raw: noThinker)) { e in
            XCTAssertTrue("\(e)".contains("'thinker_config'") && "\(e)".contains("missing"), "\(e)")
        }
    }

    func testConstraintsAreCheckedWithKeyPaths() throws {
        let cases: [([String], JSONValue, String)] = [
            (["thinker_config", "text_config", "num_key_value_heads"], .int(3),
             "thinker_config.text_config.num_key_value_heads"),
            (["thinker_config", "text_config", "rope_scaling", "mrope_section"], .array([.int(2), .int(2), .int(2)]),
             "thinker_config.text_config.rope_scaling.mrope_section"),
            (["thinker_config", "audio_config", "output_dim"], .int(32), "thinker_config.audio_config.output_dim"),
            (["talker_config", "embedding_size"], .int(32), "talker_config.embedding_size"),
            (["talker_config", "tts_codec_pad_token_id"], .int(9000), "talker_config.tts_codec_pad_token_id"),
            (["token2wav_config", "bigvgan_config", "mel_dim"], .int(16), "token2wav_config.bigvgan_config.mel_dim"),
            (["thinker_config", "vision_config", "num_heads"], .int(32), "thinker_config.vision_config.num_heads"),
        ]
        for (path, value, keyPath) in cases {
            let bad = Self.set(try fixtureJSON, path, value)
            XCTAssertThrowsError(try OmniConfig(raw: bad), keyPath) { e in
                guard case let .config(_, kp, _, _)? = e as? OmniError else { return XCTFail("\(e)") }
                XCTAssertEqual(kp, keyPath)
            }
        }
    }

    func testThinkerAndTalkerDecodersAreOneTypeWithTheirClassDefaults() throws {
        let c = try OmniConfig(raw: try fixtureJSON)
        let talker = try XCTUnwrap(c.talker)
        // One type: the talker's decoder fields compare and read like the thinker's.
        let decoder: DecoderConfig = talker.decoder
        XCTAssertEqual([decoder.layers, decoder.heads, decoder.kvHeads, decoder.headDim, decoder.hiddenSize], [2, 4, 2, 16, 64])
        XCTAssertEqual(talker.layers, decoder.layers)
        XCTAssertEqual(talker.mropeSection, [2, 3, 3])
        XCTAssertEqual(talker.vocabSize, 8448)
        // head_dim: absent → the class default (talker 128, text hidden / heads); null → hidden / heads for both.
        func talkerHeadDim(_ v: JSONValue?, mrope: [Int]) throws -> Int {
            var j = Self.set(try fixtureJSON, ["talker_config", "head_dim"], v)
            j = Self.set(j, ["talker_config", "rope_scaling", "mrope_section"], .array(mrope.map { .int($0) }))
            return try XCTUnwrap(try OmniConfig(raw: j).talker).headDim
        }
        XCTAssertEqual(try talkerHeadDim(nil, mrope: [16, 24, 24]), 128)
        XCTAssertEqual(try talkerHeadDim(.null, mrope: [2, 3, 3]), 16)
        XCTAssertEqual(c.thinker.text.headDim, 16)
        // num_key_value_heads null → heads for both.
        let nullKV = Self.set(try fixtureJSON, ["talker_config", "num_key_value_heads"], .null)
        XCTAssertEqual(try XCTUnwrap(try OmniConfig(raw: nullKV).talker).kvHeads, 4)
        // tie_word_embeddings class defaults: text true, talker false.
        let noTie = Self.set(Self.set(try fixtureJSON, ["talker_config", "tie_word_embeddings"], nil),
                             ["thinker_config", "text_config", "tie_word_embeddings"], nil)
        let d = try OmniConfig(raw: noTie)
        XCTAssertEqual(d.thinker.text.tieWordEmbeddings, true)
        XCTAssertEqual(d.talker?.tieWordEmbeddings, false)
    }

    func testUnknownKeysSurviveInRaw() throws {
        let extra = Self.set(try fixtureJSON, ["thinker_config", "text_config", "my_extension"],
                             .object(["answer": .int(42)]))
        let c = try OmniConfig(raw: extra)
        XCTAssertEqual(c.raw["thinker_config"]?["text_config"]?["my_extension"]?["answer"], .int(42))
        XCTAssertEqual(c.raw["transformers_version"], .string("4.50.0.dev0"))
    }

    func testThinkerOnlyConfigAndAudioOutputOff() throws {
        guard case var .object(thinker) = try fixtureJSON["thinker_config"] else { return XCTFail() }
        thinker["model_type"] = .string("qwen2_5_omni_thinker")
        let c = try OmniConfig(raw: .object(thinker))
        XCTAssertTrue(c.isThinkerOnly)
        XCTAssertFalse(c.enableAudioOutput)
        XCTAssertNil(c.talker)
        XCTAssertEqual(c.thinker.text.hiddenSize, 64)

        var off = Self.set(try fixtureJSON, ["enable_audio_output"], .bool(false))
        off = Self.set(off, ["talker_config"], nil)
        let d = try OmniConfig(raw: off)
        XCTAssertFalse(d.enableAudioOutput)
        XCTAssertNil(d.talker)
        XCTAssertNotNil(d.token2wav)
    }

    func testLoadsFromDirectory() throws {
        let c = try OmniConfig.load(directory: Fixtures.tinyModel)
        XCTAssertEqual(c.thinker.text.layers, 2)
        XCTAssertThrowsError(try OmniConfig.load(directory: URL(fileURLWithPath: "/nonexistent"))) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/config.json"), "\(e)")
        }
    }
}
