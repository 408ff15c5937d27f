import BuiltinPlugins
import Foundation
import OmniCore
import OmniTestSupport
import Qwen25Omni
import XCTest
@testable import omni

/// The fixture checkpoint through `omni convert`: safetensors → GGUF → safetensors and safetensors → zstd →
/// safetensors are bit-exact, every tensor, and spk_dict.pt becomes an equivalent spk_dict.safetensors.
final class FixtureRoundTripTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func convert(_ from: URL, _ name: String, format: String, shard: Int? = nil) throws -> URL {
        let out = dir.appendingPathComponent(name)
        try CheckpointConverter(registry: BuiltinPlugins.registry(), format: format, dtype: nil, maxShardBytes: shard,
                                log: { _ in }).run(model: from, out: out)
        return out
    }

    func assertSameTensors(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = BuiltinPlugins.registry()
        let sa = try r.weightFormat(for: a).open(a), sb = try r.weightFormat(for: b).open(b)
        XCTAssertEqual(sa.names, sb.names, file: file, line: line)
        for n in sa.names {
            let x = try sa.tensor(n).contiguous(), y = try sb.tensor(n).contiguous()
            XCTAssertEqual(x.dtype, y.dtype, n, file: file, line: line)
            XCTAssertEqual(x.shape, y.shape, n, file: file, line: line)
            XCTAssertEqual(memcmp(x.rawPointer, y.rawPointer, x.byteCount), 0, "\(n) differs", file: file, line: line)
        }
    }

    func testSafetensorsGGUFSafetensorsIsBitExact() throws {
        let gguf = try convert(Fixtures.tinyModel, "gguf", format: "gguf")
        let back = try convert(gguf, "back", format: "safetensors", shard: 2_000_000)
        try assertSameTensors(Fixtures.tinyModel, back)
        XCTAssertTrue(FileManager.default.fileExists(atPath: back.appendingPathComponent("model.safetensors.index.json").path))
    }

    func testSafetensorsZstdSafetensorsIsBitExact() throws {
        let omz = try convert(Fixtures.tinyModel, "omz", format: "zstd")
        let back = try convert(omz, "back", format: "safetensors")
        try assertSameTensors(Fixtures.tinyModel, back)
    }

    func testSpeakerDictionaryNeedsNoPickleAfterConversion() throws {
        let out = try convert(Fixtures.tinyModel, "st", format: "safetensors")
        let r = BuiltinPlugins.registry()
        let pt = try r.weightFormat(named: "torch").open(Fixtures.tinyModel.appendingPathComponent("spk_dict.pt"))
        let st = try r.weightFormat(named: "safetensors").open(out.appendingPathComponent("spk_dict.safetensors"))
        XCTAssertEqual(pt.names, st.names)
        XCTAssertFalse(pt.names.isEmpty)
        for (k, v) in pt.metadata { XCTAssertEqual(st.metadata[k], v, k) }
        for n in pt.names {
            XCTAssertEqual(try pt.tensor(n).floats(), try st.tensor(n).floats(), n)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("spk_dict.pt").path))
    }
}
