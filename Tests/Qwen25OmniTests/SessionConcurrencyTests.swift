import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Many sessions on one loaded model: each gets the tokens it gets alone (greedy), their decode steps share
/// batched steps, admission makes extra sessions wait, and cancellation frees the session's KV cache. Run under
/// the thread sanitizer by scripts/test.sh (`--sanitize=thread --filter SessionConcurrency`).
final class SessionConcurrencyTests: XCTestCase {
    /// Eight prompts of different lengths, and token counts that make sessions leave the batch at different steps.
    func prompts(_ model: OmniModel) -> [(ids: [Int], new: Int)] {
        let texts = ["hi", "Tell me a story about a cat.", "2 + 2 = ?", "Why is the sky blue? Answer briefly.",
                     "a", "Translate 'bonjour' to English.", "List three colours", "What is swift-omni?"]
        return texts.enumerated().map { (model.chatPrompt($1), 6 + ($0 % 3) * 3) }
    }

    func load(_ url: URL, maxBatch: Int = 8, kvBudget: Int? = nil) throws -> OmniModel {
        var options = LoadOptions(attention: "eager", enableAudioOutput: false)
        options.maxBatch = maxBatch
        options.sessionKVBudget = kvBudget
        return try OmniModel.fromPretrained(url.path, options: options, registry: BuiltinPlugins.registry(),
                                            executor: Executor(registry: BuiltinPlugins.registry(), threads: 2))
    }

    /// The tokens of each prompt generated alone, then all at once through `generateBatched`.
    func alone(_ model: OmniModel) throws -> [[Int]] {
        try prompts(model).map { try model.generate(ids: $0.ids, options: GenerationOptions(maxNewTokens: $0.new, eos: [])) }
    }

    func together(_ model: OmniModel) async throws -> [[Int]] {
        let ps = prompts(model)
        return try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (i, p) in ps.enumerated() {
                group.addTask { (i, try await model.generateBatched(ids: p.ids, options: GenerationOptions(maxNewTokens: p.new, eos: []))) }
            }
            var out = [[Int]](repeating: [], count: ps.count)
            for try await (i, t) in group { out[i] = t }
            return out
        }
    }

    func testEightSessionsGetTheirOwnTokensInBatchedSteps() async throws {
        for c in Fixtures.checkpoints {
            let model = try load(c.model)
            let expected = try alone(model)
            let got = try await together(model)
            XCTAssertEqual(got, expected, "\(c)")
            let hist = model.decoder.batchHistogram
            XCTAssertGreaterThan(hist.keys.max() ?? 0, 1, "\(c): no step ran more than one session: \(hist)")
            XCTAssertEqual(model.decoder.admittedSessions.count, 0, "\(c)")
            XCTAssertEqual(model.executor.device.memory.report().current[.kvCache] ?? 0, 0, "\(c): KV caches outlived their sessions")
        }
    }

    /// Two sessions at a time (by count, and by KV budget): the other six wait, and every one still gets its tokens.
    func testSessionsBeyondTheLimitWaitInsteadOfFailing() async throws {
        for limit in ["count", "budget"] {
            let probe = try load(Fixtures.tinyModel)
            let c = probe.config.thinker.text
            let perToken = c.layers * 2 * c.kvHeads * c.headDim * 4
            let biggest = prompts(probe).map { ($0.ids.count + $0.new) * perToken }.max() ?? 0
            let model = limit == "count" ? try load(Fixtures.tinyModel, maxBatch: 2)
                                         : try load(Fixtures.tinyModel, kvBudget: 2 * biggest + biggest / 2)
            let expected = try alone(model)
            let got = try await together(model)
            XCTAssertEqual(got, expected, limit)
            XCTAssertLessThanOrEqual(model.decoder.batchHistogram.keys.max() ?? 0, limit == "count" ? 2 : 8, limit)
        }
    }

    /// A session larger than the whole budget fails at once with the budget named.
    func testSessionLargerThanTheBudgetIsAnError() async throws {
        let model = try load(Fixtures.tinyModel, kvBudget: 1024)
        do {
            try await model.generateBatched(ids: model.chatPrompt("hi"), options: GenerationOptions(maxNewTokens: 4))
            XCTFail("expected an error")
        } catch let OmniError.invalidArgument(name, expected, _) {
            XCTAssertEqual(name, "KV cache")
            XCTAssertTrue(expected.contains("KV budget"), expected)
        }
    }

    /// Cancelling a generating task stops it with `OmniError.cancelled`, and its KV cache and admission are freed
    /// while another session keeps generating the right tokens.
    func testCancellationFreesTheSession() async throws {
        let model = try load(Fixtures.tinyModel)
        let ids = model.chatPrompt("hi")
        let expected = try model.generate(ids: ids, options: GenerationOptions(maxNewTokens: 20, eos: []))
        let started = AsyncStream<Void>.makeStream()
        let most = model.config.thinker.text.maxPositionEmbeddings - ids.count
        let doomed = Task {
            try await model.generateBatched(ids: ids, options: GenerationOptions(maxNewTokens: most, eos: [])) { e in
                if e.token >= 0 { started.continuation.yield() }
            }
        }
        let survivor = Task { try await model.generateBatched(ids: ids, options: GenerationOptions(maxNewTokens: 20, eos: [])) }
        var it = started.stream.makeAsyncIterator()
        _ = await it.next()
        doomed.cancel()
        do {
            _ = try await doomed.value
            XCTFail("the cancelled session finished")
        } catch OmniError.cancelled {}
        let kept = try await survivor.value
        XCTAssertEqual(kept, expected)
        XCTAssertEqual(model.decoder.admittedSessions.count, 0)
        XCTAssertEqual(model.executor.device.memory.report().current[.kvCache] ?? 0, 0)
    }
}
