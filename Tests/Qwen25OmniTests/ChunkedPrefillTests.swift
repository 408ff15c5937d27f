import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Chunked prefill (issue 14) against one-shot prefill on every fixture case of every checkpoint: every row's
/// logits within 1e-5 of max|one-shot|, and the same greedy tokens (which are the reference's), with chunk sizes
/// that split every audio, image and video span; the activation arena bounded by the chunk, not the prompt; and
/// results that do not depend on which plans the executor has cached.
final class ChunkedPrefillTests: XCTestCase {
    /// One fixture case: the processor outputs the reference was computed from, and its greedy tokens.
    struct Case {
        let name: String
        let input: ThinkerInput
        let generated: [Int]
    }

    /// The cases of `c`'s reference folder (text, audio, image, video, video_audio where present).
    static func cases(_ c: Fixtures.Checkpoint) throws -> [Case] {
        var out: [Case] = []
        for name in ["text", "audio", "image", "video", "video_audio"] {
            let url = c.reference.appendingPathComponent("\(name).safetensors")
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let file = try loadSafetensors(url)
            let ref = file.tensors
            var input = ThinkerInput(ids: try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) },
                                     audioFeatures: ref["input_features"], audioMask: ref["feature_attention_mask"])
            input.pixelValues = ref["pixel_values"]
            input.imageGrids = try ref["image_grid_thw"].map { try VisionEncoder.Grid.list($0, name: "image_grid_thw") } ?? []
            input.pixelValuesVideos = ref["pixel_values_videos"]
            input.videoGrids = try ref["video_grid_thw"].map { try VisionEncoder.Grid.list($0, name: "video_grid_thw") } ?? []
            if let s = file.metadata["video_second_per_grid"],
               case let .array(values) = try JSONValue.parse(Data(s.utf8), file: name) {
                input.secondsPerGrid = values.compactMap {
                    if case let .double(d) = $0 { return d }
                    if case let .int(i) = $0 { return Double(i) }
                    return nil
                }
            }
            input.useAudioInVideo = file.metadata["use_audio_in_video"] == "true"
            out.append(Case(name: name, input: input, generated: try XCTUnwrap(ref["generated"]).int64s().map { Int($0) }))
        }
        return out
    }

    func load(_ c: Fixtures.Checkpoint) throws -> OmniModel {
        let registry = BuiltinPlugins.registry()
        return try OmniModel.fromPretrained(c.model.path, registry: registry, executor: Executor(registry: registry))
    }

    /// Every row's logits [T * vocab] of a prefill in chunks of `chunk` (nil: one shot) on a fresh session.
    func logits(_ model: OmniModel, _ input: ThinkerInput, chunk: Int?) throws -> [Float] {
        let session = try model.newSession(capacity: input.ids.count)
        let r = input.hasFeatures
            ? try session.prefill(embeddings: model.inputEmbeddings(input), positions: model.positions(input),
                                  chunk: chunk, allLogits: true)
            : try session.prefill(ids: input.ids, chunk: chunk, allLogits: true)
        let l = try XCTUnwrap(r[ThinkerTextModel.logits])
        XCTAssertEqual(l.shape, [input.ids.count, model.config.thinker.text.vocabSize])
        XCTAssertEqual(session.cache.length, input.ids.count)
        return try l.floats()
    }

    func greedy(_ model: OmniModel, _ c: Case, chunk: Int?) throws -> [Int] {
        let n = c.generated.count
        return try model.generate(input: c.input, options: GenerationOptions(
            maxNewTokens: n, sampling: SamplingOptions(greedy: true, minNewTokens: n), prefillChunk: chunk))
    }

    /// The runs of one placeholder id (audio, image, video) in `ids`, as index ranges.
    func mediaSpans(_ ids: [Int], _ config: ThinkerConfig) -> [Range<Int>] {
        let media: Set<Int> = [config.audioTokenID, config.imageTokenID, config.videoTokenID]
        var spans: [Range<Int>] = [], start = 0
        for i in 0...ids.count {
            let id = i < ids.count ? ids[i] : -1
            if i > 0, i == ids.count || id != ids[i - 1] {
                if media.contains(ids[i - 1]) { spans.append(start..<i) }
                start = i
            }
        }
        return spans
    }

    func testChunkedPrefillEqualsOneShotOnEveryFixtureCase() throws {
        for c in Fixtures.checkpoints {
            let model = try load(c)
            for k in try Self.cases(c) {
                let t = k.input.ids.count
                // 1, 7, 64 and a size that does not divide the prompt (nor equal it).
                let odd = try XCTUnwrap([37, 41, 43, 47].first { t % $0 != 0 })
                let chunks = [1, 7, 64, odd]
                for span in mediaSpans(k.input.ids, model.config.thinker) {
                    // A boundary strictly inside the span: chunks 1 and 7 split every span longer than 7.
                    let splitting = chunks.filter { n in (span.lowerBound + 1..<span.upperBound).contains { $0 % n == 0 } }
                    XCTAssertGreaterThanOrEqual(splitting.count, span.count > 7 ? 2 : 1, "\(c) \(k.name) span \(span)")
                }
                if k.name != "text" { XCTAssertFalse(mediaSpans(k.input.ids, model.config.thinker).isEmpty, "\(c) \(k.name)") }

                let oneShot = try logits(model, k.input, chunk: nil)
                let tokens = try greedy(model, k, chunk: nil)
                XCTAssertEqual(tokens, k.generated, "\(c) \(k.name): one shot against the reference")
                var first: [Float] = []
                for n in chunks {
                    let chunked = try logits(model, k.input, chunk: n)
                    let err = Tolerance.relativeMaxError(chunked, oneShot)
                    print("chunked prefill (\(c), \(k.name), T \(t), chunk \(n)): rel err logits \(err)")
                    XCTAssertLessThanOrEqual(err, 1e-5, "\(c) \(k.name) chunk \(n)")
                    XCTAssertEqual(try greedy(model, k, chunk: n), tokens, "\(c) \(k.name) chunk \(n)")
                    if n == chunks[0] { first = chunked }
                }
                // After the other chunk sizes have been planned and cached, the first size again: the same numbers.
                XCTAssertEqual(try logits(model, k.input, chunk: chunks[0]), first, "\(c) \(k.name): plan cache")
            }
        }
    }

    func testResultDoesNotDependOnThePlanCache() throws {
        // One executor: chunk 16 planned first, then 5 and 23 (other full and last-chunk plans), then 16 again;
        // a fresh executor with 16 alone gives the same tokens and bit-identical logits.
        let c = Fixtures.checkpoints[0]
        let k = try XCTUnwrap(try Self.cases(c).first { $0.name == "video_audio" })
        let shared = try load(c)
        let a = try greedy(shared, k, chunk: 16)
        let aLogits = try logits(shared, k.input, chunk: 16)
        XCTAssertEqual(try greedy(shared, k, chunk: 5), a)
        XCTAssertEqual(try greedy(shared, k, chunk: 23), a)
        XCTAssertEqual(try greedy(shared, k, chunk: 16), a)
        XCTAssertEqual(try logits(shared, k.input, chunk: 16), aLogits)
        let fresh = try load(c)
        XCTAssertEqual(try logits(fresh, k.input, chunk: 16), aLogits)
        XCTAssertEqual(try greedy(fresh, k, chunk: 16), k.generated)
    }

    /// Peak bytes of the activation arena after prefilling `length` synthetic tokens in chunks of `chunk`.
    func peakActivations(length: Int, chunk: Int?) throws -> Int {
        let registry = BuiltinPlugins.registry()
        let c = Fixtures.checkpoints[0]
        let config = try OmniConfig.load(directory: c.model)
        let weights = ModelWeights(source: try registry.weightFormat(for: c.model).open(c.model), registry: registry,
                                   policy: .auto, device: CPUDevice())
        let executor = Executor(registry: registry)
        let session = try ThinkerSession(model: ThinkerTextModel(config: config.thinker.text), executor: executor,
                                         weights: weights, capacity: length)
        let vocab = config.thinker.text.vocabSize
        let ids = (0..<length).map { ($0 * 7919 + 13) % vocab }
        try session.prefill(ids: ids, chunk: chunk)
        return executor.memoryReport().peak[.activations] ?? 0
    }

    func testChunkedPrefillActivationsDoNotGrowWithThePrompt() throws {
        let short = try peakActivations(length: 256, chunk: 16)
        let long = try peakActivations(length: 512, chunk: 16)
        let oneShot = try peakActivations(length: 512, chunk: nil)
        print("peak activations: chunk 16 at 256 tokens \(short) B, at 512 tokens \(long) B; one shot at 512 \(oneShot) B")
        XCTAssertGreaterThan(short, 0)
        XCTAssertEqual(long, short)
        XCTAssertGreaterThan(oneShot, 4 * long, "one-shot prefill plans for the prompt, chunked for the chunk")
    }

    func testTalkerChunkedPrefillEqualsOneShot() throws {
        // Synthetic rows (the talker's prefill logits), then the reference's greedy codes end to end with the
        // thinker and the talker both prefilled in chunks.
        for r in Fixtures.speechReferences {
            let model = try load(r.checkpoint)
            let talker = try XCTUnwrap(model.talker)
            let t = 45, e = talker.config.embeddingSize
            let embeds = Tensor((0..<(t * e)).map { Float(sin(Double($0) * 0.37)) }, shape: [t, e])
            let hidden = Tensor((0..<(t * e)).map { Float(cos(Double($0) * 0.11)) * 0.5 }, shape: [t, e])
            let codes = [talker.config.codecPadTokenID, talker.config.codecStartTokenID]
            func run(_ chunk: Int?) throws -> [Float] {
                let s = try TalkerSession(model: talker, executor: model.executor, weights: model.weights, capacity: t)
                return try s.prefill(embeds: embeds, hidden: hidden, codecIDs: codes, positions: nil, chunk: chunk)
            }
            let oneShot = try run(nil)
            for n in [1, 7, 44, 16] {   // 44: the codec rows split across the last two chunks
                let err = Tolerance.relativeMaxError(try run(n), oneShot)
                print("talker chunked prefill (\(r), chunk \(n)): rel err logits \(err)")
                XCTAssertLessThanOrEqual(err, 1e-5, "\(r) chunk \(n)")
            }

            let (ref, meta) = try loadSafetensors(r.file)
            let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
            let sequence = try XCTUnwrap(ref["thinker_sequence"]).int64s().map { Int($0) }
            let expectedCodes = try XCTUnwrap(ref["e2e_codes"]).int64s().map { Int($0) }
            let speaker = try XCTUnwrap(meta["speaker"]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let bos = try SpeakerBOS.read(r.checkpoint.model, speaker: speaker)
            let thinker = GenerationOptions(maxNewTokens: sequence.count - ids.count, sampling: SamplingOptions(greedy: true),
                                            eos: [], prefillChunk: 7)
            let options = TalkerOptions(speakerBOS: bos, maxNewTokens: expectedCodes.count,
                                        minNewTokens: expectedCodes.count, greedy: true, prefillChunk: 7)
            let result = try model.generateSpeech(input: ThinkerInput(ids: ids), thinker: thinker, talker: options)
            XCTAssertEqual(result.tokens, Array(sequence.dropFirst(ids.count)), "\(r) thinker tokens")
            XCTAssertEqual(result.codes, expectedCodes, "\(r) talker codes")
        }
    }

    func testPrefillChunkOutsideThePositionsIsATypedError() throws {
        let config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.text
        for bad in [0, -3, config.maxPositionEmbeddings + 1] {
            XCTAssertThrowsError(try ThinkerSession.checkPrefillChunk(bad, config: config)) {
                XCTAssertTrue("\($0)".contains("prefillChunk") && "\($0)".contains("1 … \(config.maxPositionEmbeddings)"), "\($0)")
            }
        }
        XCTAssertNoThrow(try ThinkerSession.checkPrefillChunk(nil, config: config))
        XCTAssertNoThrow(try ThinkerSession.checkPrefillChunk(config.maxPositionEmbeddings, config: config))
    }
}
