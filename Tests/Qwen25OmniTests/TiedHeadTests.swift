import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// `thinker_config.tie_word_embeddings`: transformers ties the thinker's `lm_head.weight` to
/// `model.embed_tokens.weight` (OMNI-SPEC §1.1), so a tied checkpoint may leave the head out, and one that keeps it is
/// loaded with the head replaced by the embedding. Checked on copies of the tiny checkpoint written here: tied without
/// a head, tied with its (unread) head, and untied with the head set to the embedding's values must give the same
/// logits; the fixture as it is (its own head) must not, so the comparison can fail.
final class TiedHeadTests: XCTestCase {
    let embedKey = "thinker.model.embed_tokens.weight", headKey = "thinker.lm_head.weight"

    func testATiedThinkerReadsTheEmbeddingAsItsHead() throws {
        let c = try XCTUnwrap(Fixtures.checkpoints.first)
        let registry = BuiltinPlugins.registry()
        let format = try registry.weightFormat(for: c.model)
        let source = try format.open(c.model)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tied-head-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }

        /// A copy of the checkpoint in `root/name`: config with `tie`, every tensor but the head, and the head as
        /// `head` says (nil: left out).
        func copy(_ name: String, tie: Bool, head: String?) throws -> String {
            let dir = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for f in try FileManager.default.contentsOfDirectory(atPath: c.model.path)
            where !f.hasSuffix(".safetensors") && f != "model.safetensors.index.json" && f != "config.json" {
                try FileManager.default.copyItem(at: c.model.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
            var config = try XCTUnwrap(JSONSerialization.jsonObject(
                with: Data(contentsOf: c.model.appendingPathComponent("config.json"))) as? [String: Any])
            var thinker = try XCTUnwrap(config["thinker_config"] as? [String: Any])
            thinker["tie_word_embeddings"] = tie
            config["thinker_config"] = thinker
            try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
            var entries: [TensorEntry] = []
            for n in source.names where n != headKey {
                let info = try XCTUnwrap(source.info(n))
                entries.append(TensorEntry(name: n, dtype: info.dtype, shape: info.shape) { try source.tensor(n) })
            }
            if let from = head {
                let info = try XCTUnwrap(source.info(from))
                entries.append(TensorEntry(name: headKey, dtype: info.dtype, shape: info.shape) { try source.tensor(from) })
            }
            _ = try format.write(entries, to: dir.appendingPathComponent("model.safetensors"), options: WeightWriteOptions())
            return dir.path
        }

        let ref = try loadSafetensors(c.reference.appendingPathComponent("text.safetensors")).tensors
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        func logits(_ path: String, dtype: DTypePolicy = .auto) throws -> [Float] {
            let model = try OmniModel.fromPretrained(path, options: LoadOptions(dtype: dtype), registry: registry,
                                                     executor: Executor(registry: registry))
            let session = try model.newSession(capacity: ids.count)
            let out = try session.prefill(ids: ids)
            return try XCTUnwrap(out[ThinkerTextModel.logits]).floats()
        }

        let tied = try logits(copy("tied", tie: true, head: nil))
        let tiedKeepingHead = try logits(copy("tied-with-head", tie: true, head: headKey))
        let untiedEmbedHead = try logits(copy("untied-embedding-head", tie: false, head: embedKey))
        let own = try logits(c.model.path)
        XCTAssertEqual(tied, untiedEmbedHead, "the tied head is the embedding")
        XCTAssertEqual(tiedKeepingHead, untiedEmbedHead, "a tied checkpoint's own head is not read")
        XCTAssertNotEqual(tied, own, "the fixture's own head differs from its embedding")

        // Quantized (Q8_0): the tied table is the LM head too, so it is quantized (as llama.cpp quantizes a tied
        // token_embd), bound interleaved for the decode kernels, and the embedding reads its rows from there; an
        // untied table stays as stored.
        let tiedPath = root.appendingPathComponent("tied").path
        let q8 = DTypePolicy(.q8_0)
        let tiedModel = try OmniModel.fromPretrained(tiedPath, options: LoadOptions(dtype: q8), registry: registry,
                                                     executor: Executor(registry: registry))
        XCTAssertEqual(try tiedModel.weights.tensor(embedKey).dtype, .q8_0)
        let ownModel = try OmniModel.fromPretrained(c.model.path, options: LoadOptions(dtype: q8), registry: registry,
                                                    executor: Executor(registry: registry))
        XCTAssertEqual(try ownModel.weights.tensor(embedKey).dtype, try XCTUnwrap(source.info(embedKey)).dtype)
        let tiedQ8 = try logits(tiedPath, dtype: q8)
        // Every linear and the table in Q8_0 against all f32: 2.2e-2 of max here. The bound only tells a table read in
        // the right layout from a wrong one (wrong rows give errors of order 1), it is not a parity tolerance.
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(tiedQ8, tied), 5e-2)

        // Untied without a head is still an error naming the tensor.
        XCTAssertThrowsError(try logits(copy("untied-no-head", tie: false, head: nil))) { error in
            XCTAssertTrue("\(error)".contains(headKey), "\(error)")
        }
    }
}
