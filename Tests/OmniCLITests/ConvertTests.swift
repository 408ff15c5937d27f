import BuiltinPlugins
import Foundation
import OmniCore
import OmniTestSupport
import Qwen25Omni
import XCTest
@testable import omni

/// `omni convert` through the registry: gguf → zstd bit-exact, → gguf q8_0 lossy, failures leave nothing.
final class ConvertTests: XCTestCase {
    var dir: URL!
    var lines: [String] = []

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("convert-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A small GGUF model folder with a config file; tensors random (seeded).
    func makeModel() throws -> URL {
        let model = dir.appendingPathComponent("model")
        var g = SeededGenerator(seed: 9)
        func t(_ shape: Shape, _ dtype: DType) -> Tensor {
            let f = Tensor((0..<shape.elementCount).map { _ in g.normal() * 0.02 }, shape: shape)
            guard dtype != .f32 else { return f }
            let out = Tensor(zeros: shape, dtype: dtype)
            let p = out.mutableRawPointer.assumingMemoryBound(to: UInt16.self)
            for i in 0..<shape.elementCount { p[i] = Scalar.floatToBF16(f.floatPointer[i]) }
            return out
        }
        let tensors: [(String, Tensor)] = [
            ("thinker.model.embed_tokens.weight", t([16, 64], .bf16)),
            ("thinker.model.layers.0.self_attn.q_proj.weight", t([64, 64], .bf16)),
            ("thinker.model.layers.0.self_attn.q_proj.bias", t([64], .bf16)),
            ("thinker.model.norm.weight", t([64], .f32)),
            ("talker.odd.weight", t([4, 20], .bf16)), // last dim not a multiple of 32
        ]
        let entries = tensors.map { n, t in TensorEntry(name: n, dtype: t.dtype, shape: t.shape) { t } }
        _ = try BuiltinPlugins.registry().weightFormat(named: "gguf").write(entries, to: model, options: WeightWriteOptions())
        try Data("{\"model_type\": \"qwen2_5_omni\"}".utf8).write(to: model.appendingPathComponent("config.json"))
        return model
    }

    func converter(_ format: String, _ dtype: DType? = nil) -> CheckpointConverter {
        var c = CheckpointConverter(registry: BuiltinPlugins.registry(), format: format, dtype: dtype, maxShardBytes: nil)
        c.log = { _ in }
        return c
    }

    func testGGUFToZstdIsBitExactAndCopiesConfig() throws {
        let model = try makeModel()
        let out = dir.appendingPathComponent("omz")
        let r = try converter("zstd").run(model: model, out: out)
        XCTAssertEqual(r.tensors, 5)
        XCTAssertEqual(r.bitExact, 5)
        XCTAssertTrue(r.errors.isEmpty)
        XCTAssertEqual(r.copiedFiles, ["config.json"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["config.json", "model.omz"])
    }

    func testQuantizeToQ8ReportsErrorAndKeepsVectors() throws {
        let model = try makeModel()
        let out = dir.appendingPathComponent("q8")
        let r = try converter("gguf", .q8_0).run(model: model, out: out)
        XCTAssertEqual(r.converted, 2) // embed + q_proj; bias, norm (1-D) and the 20-wide matrix stay
        XCTAssertEqual(r.kept.count, 1)
        XCTAssertEqual(r.bitExact, 3)
        let e = try XCTUnwrap(r.errors[.q8_0])
        XCTAssertEqual(e.count, 16 * 64 + 64 * 64)
        XCTAssertGreaterThan(e.max, 0)
        XCTAssertLessThan(e.max, 0.1 / 127 * 0.6 + 1e-4) // |x| ≲ 5σ = 0.1: half a step plus f16 rounding
        let src = try BuiltinPlugins.registry().weightFormat(for: out).open(out)
        XCTAssertEqual(src.info("thinker.model.embed_tokens.weight")?.dtype, .q8_0)
        XCTAssertEqual(src.info("thinker.model.layers.0.self_attn.q_proj.bias")?.dtype, .bf16)
    }

    func testFailureRemovesTheOutputFolder() throws {
        let model = try makeModel()
        let out = dir.appendingPathComponent("fail")
        // Sharding is refused by the gguf writer after the output folder was created.
        var c = converter("gguf")
        c.maxShardBytes = 1000
        XCTAssertThrowsError(try c.run(model: model, out: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        // An existing output is never touched.
        XCTAssertThrowsError(try converter("zstd").run(model: model, out: model))
        XCTAssertTrue(FileManager.default.fileExists(atPath: model.appendingPathComponent("model.gguf").path))
        XCTAssertThrowsError(try converter("nope").run(model: model, out: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    /// Two conversions to one OUT at once: exactly one wins, its result is complete, nothing is left beside it.
    func testConcurrentConversionsToOneOutputLeaveOneCompleteResult() throws {
        let model = try makeModel()
        for trial in 0..<4 {
            let out = dir.appendingPathComponent("race\(trial)")
            let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 2)
            defer { results.deallocate() }
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                results[i] = (try? converter(i == 0 ? "zstd" : "safetensors").run(model: model, out: out)) != nil
            }
            XCTAssertEqual(results.filter { $0 }.count, 1, "trial \(trial)")
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            XCTAssertTrue(names.contains("config.json"), "\(names)")
            XCTAssertEqual(names.filter { $0.hasPrefix(".") }, [])
            XCTAssertEqual(try BuiltinPlugins.registry().weightFormat(for: out).open(out).names.count, 5)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }, [])
    }
}
