import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Thinker text path against transformers 5.17.0 (`text.safetensors` of every checkpoint in
/// `Fixtures.checkpoints`): logits, last_hidden and embeddings within 1e-4 of max|reference|, the 16 greedy
/// tokens identical, and eager vs flash_attention_2 within 1e-5 of each other.
final class ThinkerTextParityTests: XCTestCase {
    struct Loaded {
        let model: ThinkerTextModel
        let weights: ModelWeights
        let registry: PluginRegistry
    }

    func load(_ c: Fixtures.Checkpoint, attention: String, policy: DTypePolicy = .auto) throws -> Loaded {
        let registry = BuiltinPlugins.registry()
        let config = try OmniConfig.load(directory: c.model)
        let source = try registry.weightFormat(for: c.model).open(c.model)
        let model = ThinkerTextModel(config: config.thinker.text, attention: [attention, "eager"])
        let weights = ModelWeights(source: source, registry: registry, policy: policy, device: CPUDevice())
        return Loaded(model: model, weights: weights, registry: registry)
    }

    func reference(_ c: Fixtures.Checkpoint) throws -> [String: Tensor] {
        try loadSafetensors(c.reference.appendingPathComponent("text.safetensors")).tensors
    }

    func forward(_ l: Loaded, ids: [Int], positions: [[Int64]]) throws -> GraphResult {
        let session = try ThinkerSession(model: l.model, executor: Executor(registry: l.registry), weights: l.weights,
                                         capacity: ids.count)
        return try session.prefill(ids: ids, positions: positions, allLogits: true, keep: [ThinkerTextModel.embeds])
    }

    func testForwardMatchesReferenceWithBothBackends() throws {
        for c in Fixtures.checkpoints { try forwardMatchesReference(c) }
    }

    func forwardMatchesReference(_ c: Fixtures.Checkpoint) throws {
        let ref = try reference(c)
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        let pos = try XCTUnwrap(ref["position_ids"]).int64s()
        let t = ids.count
        let rows = (0..<3).map { Array(pos[($0 * t)..<(($0 + 1) * t)]) }
        var logitsBy: [String: [Float]] = [:]
        for backend in ["eager", "flash_attention_2"] {
            let out = try forward(try load(c, attention: backend), ids: ids, positions: rows)
            let logits = try XCTUnwrap(out[ThinkerTextModel.logits]).floats()
            let hidden = try XCTUnwrap(out[ThinkerTextModel.lastHidden]).floats()
            let embeds = try XCTUnwrap(out[ThinkerTextModel.embeds]).floats()
            let errs = [Tolerance.relativeMaxError(logits, try ref["logits"]!.floats()),
                        Tolerance.relativeMaxError(hidden, try ref["last_hidden"]!.floats()),
                        Tolerance.relativeMaxError(embeds, try ref["embeds"]!.floats())]
            print("thinker text parity (\(c), \(backend)): rel err logits \(errs[0]), last_hidden \(errs[1]), embeds \(errs[2])")
            for (err, what) in zip(errs, ["logits", "last_hidden", "embeds"]) {
                XCTAssertLessThanOrEqual(err, 1e-4, "\(c) \(backend) \(what)")
            }
            logitsBy[backend] = logits
        }
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(logitsBy["flash_attention_2"]!, logitsBy["eager"]!), 1e-5, "\(c)")
    }

    func testSixteenGreedyTokensMatch() throws {
        for c in Fixtures.checkpoints { try greedyTokensMatch(c) }
    }

    func greedyTokensMatch(_ c: Fixtures.Checkpoint) throws {
        let ref = try reference(c)
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        let expected = try XCTUnwrap(ref["generated"]).int64s().map { Int($0) }
        for backend in ["eager", "flash_attention_2"] {
            let l = try load(c, attention: backend)
            let session = try ThinkerSession(model: l.model, executor: Executor(registry: l.registry),
                                             weights: l.weights, capacity: ids.count + expected.count)
            var logits = try session.prefill(ids: ids)[ThinkerTextModel.logits]!.floats()
            var generated: [Int] = []
            for _ in 0..<expected.count {
                let next = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
                generated.append(next)
                logits = try session.step(next)
            }
            XCTAssertEqual(generated, expected, "\(c) \(backend)")
        }
    }

    func testF32PolicyGivesTheSameLogitsAsBF16Weights() throws {
        // bf16 weights widened in the kernels and weights converted to f32 on first use are the same numbers.
        let c = Fixtures.checkpoints[0]
        let ref = try reference(c)
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        let rows = Array(repeating: (0..<ids.count).map { Int64($0) }, count: 3)
        let a = try forward(try load(c, attention: "eager"), ids: ids, positions: rows)[ThinkerTextModel.logits]!.floats()
        let b = try forward(try load(c, attention: "eager", policy: DTypePolicy(.f32)), ids: ids, positions: rows)[ThinkerTextModel.logits]!.floats()
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(a, b), 1e-5)
    }
}
