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
        func logits(_ path: String) throws -> [Float] {
            let model = try OmniModel.fromPretrained(path, registry: registry, executor: Executor(registry: registry))
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

        // Untied without a head is still an error naming the tensor.
        XCTAssertThrowsError(try logits(copy("untied-no-head", tie: false, head: nil))) { error in
            XCTAssertTrue("\(error)".contains(headKey), "\(error)")
        }
    }
}
