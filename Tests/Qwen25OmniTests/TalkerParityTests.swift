import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Thinker → talker end to end against transformers 5.17.0 (`speech.safetensors`: `input_ids`,
/// `thinker_sequence` = prompt + 8 greedy thinker tokens, `e2e_codes` = 40 greedy talker codes with repetition
/// penalty 1.05 and min 40 new tokens, speaker in the metadata): the thinker tokens and the codes identical.
final class TalkerParityTests: XCTestCase {
    static var publicCheckpoint: Fixtures.Checkpoint { Fixtures.speechReferences[0].checkpoint }

    func load(_ c: Fixtures.Checkpoint, attention: String = "flash_attention_2") throws -> OmniModel {
        let registry = BuiltinPlugins.registry()
        return try OmniModel.fromPretrained(c.model.path, options: LoadOptions(attention: attention), registry: registry,
                                            executor: Executor(registry: registry))
    }

    func testGreedyThinkerTokensAndTalkerCodesMatchReference() throws {
        let refs = Fixtures.speechReferences
        XCTAssertEqual(refs.map(\.description), ["public/speech.safetensors", "spk/speech.safetensors", "spk/speech_ethan.safetensors"])
        for r in refs {
            for attention in ["eager", "flash_attention_2"] { try endToEnd(r, attention: attention) }
        }
    }

    func endToEnd(_ r: Fixtures.SpeechReference, attention: String) throws {
        let c = r.checkpoint
        let (ref, meta) = try loadSafetensors(r.file)
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        let sequence = try XCTUnwrap(ref["thinker_sequence"]).int64s().map { Int($0) }
        let expectedCodes = try XCTUnwrap(ref["e2e_codes"]).int64s().map { Int($0) }
        XCTAssertEqual(Array(sequence.prefix(ids.count)), ids)
        let expectedTokens = Array(sequence.dropFirst(ids.count))
        let speaker = try XCTUnwrap(meta["speaker"]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let bos = try SpeakerBOS.read(c.model, speaker: speaker)
        let model = try load(c, attention: attention)
        // The reference's thinker had no EOS in its generation config: it ran exactly 8 greedy steps.
        let thinker = GenerationOptions(maxNewTokens: expectedTokens.count, sampling: SamplingOptions(greedy: true), eos: [])
        let talker = TalkerOptions(speakerBOS: bos, maxNewTokens: expectedCodes.count, minNewTokens: expectedCodes.count,
                                   greedy: true)
        var events: [SpeechEvent] = []
        let result = try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker, talker: talker) {
            events.append($0)
        }
        XCTAssertEqual(result.tokens, expectedTokens, "\(r) \(attention) thinker tokens")
        XCTAssertEqual(result.codes, expectedCodes, "\(r) \(attention) talker codes (speaker \(speaker), bos \(bos))")
        // Streamed in order: every thinker token, then every code as it came.
        let streamedTokens = events.compactMap { if case let .token(e) = $0, e.token >= 0 { return e.token } else { return nil } }
        let streamedCodes = events.compactMap { if case let .code(c) = $0 { return c } else { return nil } }
        XCTAssertEqual(streamedTokens, expectedTokens)
        XCTAssertEqual(streamedCodes, expectedCodes)
        let firstCode = try XCTUnwrap(events.firstIndex { if case .code = $0 { return true } else { return false } })
        XCTAssertFalse(events[firstCode...].contains { if case .token = $0 { return true } else { return false } })
    }

    func testInterleavedTalkerGivesTheSameCodesBeforeTheThinkerEnds() throws {
        // Fed each reply token as it comes, the talker starts after the thinker's second token and its codes are
        // the reference's (greedy) and the finished-reply run's (sampled, same seed).
        for r in Fixtures.speechReferences {
            let c = r.checkpoint
            let (ref, meta) = try loadSafetensors(r.file)
            let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
            let expectedCodes = try XCTUnwrap(ref["e2e_codes"]).int64s().map { Int($0) }
            let tokens = try XCTUnwrap(ref["thinker_sequence"]).int64s().count - ids.count
            let speaker = try XCTUnwrap(meta["speaker"]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let bos = try SpeakerBOS.read(c.model, speaker: speaker)
            let model = try load(c)
            let thinker = GenerationOptions(maxNewTokens: tokens, sampling: SamplingOptions(greedy: true), eos: [])
            var greedy = TalkerOptions(speakerBOS: bos, maxNewTokens: expectedCodes.count, minNewTokens: expectedCodes.count,
                                       greedy: true)
            greedy.interleaved = true
            var events: [SpeechEvent] = []
            let result = try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker, talker: greedy) { events.append($0) }
            XCTAssertEqual(result.codes, expectedCodes, "\(r) interleaved greedy codes")
            XCTAssertEqual(events.compactMap { if case let .code(c) = $0 { return c } else { return nil } }, expectedCodes)
            // The first code comes right after the second reply token: the talker's prefill needs g_0 and R_0.
            let kinds = events.map { if case let .token(e) = $0 { return e.token >= 0 ? "t" : "" } else { return "c" } }.joined()
            XCTAssertTrue(kinds.hasPrefix("ttc"), "\(r): \(kinds)")
            XCTAssertEqual(kinds.filter { $0 == "t" }.count, tokens)
            var sampled = TalkerOptions(speakerBOS: bos, maxNewTokens: 30, seed: 5)
            let after = try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker, talker: sampled).codes
            sampled.interleaved = true
            XCTAssertEqual(try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker, talker: sampled).codes, after,
                           "\(r) sampled, seed 5")
        }
    }

    func testTheSpeakerRowReachesTheTalker() throws {
        // The speaker's BOS embedding is prefill row P: another speaker must change the first codec logits
        // (on this random checkpoint Chelsie and Ethan happen to give the same greedy codes, so compare logits).
        let c = Self.publicCheckpoint
        let model = try load(c)
        let talker = try XCTUnwrap(model.talker)
        let input = ThinkerInput(ids: model.chatPrompt("Say hello."))
        let record = ThinkerRecord(width: model.config.thinker.text.hiddenSize)
        let tokens = try model.generate(input: input, options: GenerationOptions(maxNewTokens: 3, eos: []), record: record) { _ in }
        XCTAssertEqual(record.replyEmbeds.count, 2)
        func firstLogits(_ speaker: String) throws -> [Float] {
            let bos = try SpeakerBOS.read(c.model, speaker: speaker)
            let e = try model.inputEmbeddings(ThinkerInput(ids: [bos, 0, 0])).floats()
            let d = record.width
            let feed = try TalkerFeed(record: record, tokens: tokens, promptIDs: input.ids, zeroRows: [], config: talker.config,
                                      speakerBOSID: bos, speakerBOS: Array(e[0..<d]), textEnd: Array(e[d..<(2 * d)]),
                                      textPad: Array(e[(2 * d)...]))
            let session = try TalkerSession(model: talker, executor: model.executor, weights: model.weights, capacity: feed.prefillRows)
            let rows = feed.prefillRows
            return try session.prefill(embeds: Tensor(feed.prefillEmbeds, shape: [rows, d]), hidden: Tensor(feed.prefillHidden, shape: [rows, d]),
                                       codecIDs: [talker.config.codecPadTokenID, talker.config.codecStartTokenID], positions: nil)
        }
        let a = try firstLogits("Chelsie"), b = try firstLogits("Ethan")
        XCTAssertGreaterThan(Tolerance.maxAbsError(a, b), 1e-3)
    }

    func testMediaPromptsKeepTheThinkersPositionsAndRun() throws {
        // No speech reference has media; check the structure the reference prescribes: the talker's own
        // get_rope_index over [prompt, speaker BOS, g_0] gives the thinker's prompt positions, then max + 1, max + 2.
        let c = Self.publicCheckpoint
        let model = try load(c)
        let tc = try XCTUnwrap(model.talker).config
        let bos = try SpeakerBOS.read(c.model, speaker: "Chelsie")
        var inputs: [(String, ThinkerInput)] = []
        let image = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        var i = ThinkerInput(ids: try XCTUnwrap(image["input_ids"]).int64s().map { Int($0) })
        i.pixelValues = image["pixel_values"]
        i.imageGrids = try VisionEncoder.Grid.list(try XCTUnwrap(image["image_grid_thw"]), name: "image_grid_thw")
        inputs.append(("image", i))
        let audio = try loadSafetensors(Fixtures.reference.appendingPathComponent("audio.safetensors")).tensors
        inputs.append(("audio", ThinkerInput(ids: try XCTUnwrap(audio["input_ids"]).int64s().map { Int($0) },
                                             audioFeatures: audio["input_features"], audioMask: audio["feature_attention_mask"])))
        for (what, input) in inputs {
            let thinker = try model.positions(input)
            let talker = try model.talkerPositions(input, textIDs: input.ids + [bos, 7], talker: tc)
            let m = try XCTUnwrap(thinker.flatMap { $0 }.max())
            for r in 0..<3 {
                XCTAssertEqual(Array(talker[r].prefix(input.ids.count)), thinker[r], what)
                XCTAssertEqual(Array(talker[r].suffix(2)), [m + 1, m + 2], what)
            }
            let placeholder = what == "image" ? model.config.thinker.imageTokenID : model.config.thinker.audioTokenID
            let slots = Set(input.ids.indices.filter { input.ids[$0] == placeholder })
            XCTAssertFalse(slots.isEmpty)
            XCTAssertEqual(model.talkerZeroRows(input), slots, what)
            XCTAssertEqual(model.talkerZeroRows(ThinkerInput(ids: input.ids)), [], "\(what): no media given, nothing zeroed")
            let result = try model.generateSpeech(input: input, thinker: GenerationOptions(maxNewTokens: 3, eos: []),
                                                  talker: TalkerOptions(speakerBOS: bos, maxNewTokens: 4, minNewTokens: 4, greedy: true))
            XCTAssertEqual(result.tokens.count, 3, what)
            XCTAssertEqual(result.codes.count, 4, what)
        }
    }

    func testSampledCodesFollowTheSeedAndNeverTheCodecBOS() throws {
        let c = Self.publicCheckpoint
        let model = try load(c)
        let tc = try XCTUnwrap(model.talker).config
        let ids = model.chatPrompt("Say hello.")
        let thinker = GenerationOptions(maxNewTokens: 4, sampling: SamplingOptions(greedy: true), eos: [])
        func run(seed: UInt64) throws -> [Int] {
            try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker,
                                     talker: TalkerOptions(speakerBOS: try SpeakerBOS.read(c.model, speaker: "Chelsie"),
                                                           maxNewTokens: 24, seed: seed)).codes
        }
        let a = try run(seed: 7), b = try run(seed: 7), other = try run(seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, other)
        for code in a + other {
            XCTAssertTrue(code >= 0 && code < tc.vocabSize && code != tc.codecStartTokenID
                          && code != tc.codecPadTokenID && code != tc.codecEndTokenID, "code \(code)")
        }
    }

    func testAsyncStreamYieldsTokensThenCodes() async throws {
        let c = Self.publicCheckpoint
        let model = try load(c)
        let bos = try SpeakerBOS.read(c.model, speaker: "Chelsie")
        var codes: [Int] = [], tokens = 0
        for try await event in model.generateSpeech(prompt: "Say hello.",
                                                    thinker: GenerationOptions(maxNewTokens: 3, eos: []),
                                                    talker: TalkerOptions(speakerBOS: bos, maxNewTokens: 5, minNewTokens: 5, greedy: true)) {
            switch event {
            case let .token(e): XCTAssertTrue(codes.isEmpty); if e.token >= 0 { tokens += 1 }
            case let .code(code): codes.append(code)
            }
        }
        XCTAssertEqual(tokens, 3)
        XCTAssertEqual(codes.count, 5)
    }

    func testOptionErrorsNameTheFlagAndRange() throws {
        let model = try load(Self.publicCheckpoint)
        let input = ThinkerInput(ids: model.chatPrompt("hi"))
        let thinker = GenerationOptions(maxNewTokens: 2, eos: [])
        let vocab = model.config.thinker.text.vocabSize
        let cases: [(TalkerOptions, [String])] = [
            (TalkerOptions(speakerBOS: vocab), ["--speaker-bos", "0..<\(vocab)", "\(vocab)"]),
            (TalkerOptions(speakerBOS: -1), ["--speaker-bos", "-1"]),
            (TalkerOptions(speakerBOS: 1, maxNewTokens: 0), ["--talker-max-new-tokens", "1...", "got 0"]),
            (TalkerOptions(speakerBOS: 1, maxNewTokens: 4, minNewTokens: 5), ["--talker-min-new-tokens", "0...4", "got 5"]),
        ]
        for (opts, words) in cases {
            XCTAssertThrowsError(try model.generateSpeech(input: input, thinker: thinker, talker: opts)) { error in
                for w in words { XCTAssertTrue("\(error)".contains(w), "\(error) lacks \(w)") }
            }
        }
        // One thinker token leaves no reply row for the talker's prefill (the reference fails there too).
        XCTAssertThrowsError(try model.generateSpeech(input: input, thinker: GenerationOptions(maxNewTokens: 1, eos: []),
                                                      talker: TalkerOptions(speakerBOS: 1))) {
            XCTAssertTrue("\($0)".contains("at least 2 generated tokens"), "\($0)")
        }
    }

    func testWithoutAudioOutputSpeechIsATypedError() throws {
        let registry = BuiltinPlugins.registry()
        let model = try OmniModel.fromPretrained(Fixtures.tinyModel.path, options: LoadOptions(enableAudioOutput: false),
                                                 registry: registry, executor: Executor(registry: registry))
        XCTAssertNil(model.talker)
        XCTAssertFalse(model.plan.units.contains { $0.component == .talker })
        XCTAssertThrowsError(try model.generateSpeech(input: ThinkerInput(ids: [1, 2]), thinker: GenerationOptions(),
                                                      talker: TalkerOptions(speakerBOS: 1))) {
            XCTAssertTrue("\($0)".contains("enableAudioOutput = false"), "\($0)")
        }
    }
}

/// The speaker's BOS token for the parity tests.
enum SpeakerBOS {
    /// The speaker's BOS token through the library's `Speakers` (spk_dict.pt).
    static func read(_ model: URL, speaker: String) throws -> Int {
        try Speakers.load(directory: model, registry: BuiltinPlugins.registry()).voice(named: speaker).bosToken
    }
}
