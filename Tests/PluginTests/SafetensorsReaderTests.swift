import FormatSafetensors
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Reading the fixture checkpoint and well-formed hand-made files.
final class SafetensorsReaderTests: XCTestCase {
    let format = SafetensorsFormat()

    func testOpensShardedFixtureZeroCopy() throws {
        XCTAssertTrue(format.canOpen(Fixtures.tinyModel))
        let source = try format.open(Fixtures.tinyModel)
        XCTAssertEqual(source.formatName, "safetensors")
        XCTAssertEqual(source.names.count, 661)          // len(weight_map) in the index
        XCTAssertEqual(source.files.count, 5)            // index + 4 shards
        XCTAssertEqual(source.metadata["format"], "pt")
        let name = "thinker.model.embed_tokens.weight"
        let info = try XCTUnwrap(source.info(name))
        XCTAssertEqual(info.dtype, .bf16)
        XCTAssertEqual(info.shape, [2048, 64])
        XCTAssertTrue(info.file.hasSuffix("model-00001-of-00004.safetensors"))
        let t = try source.tensor(name)
        guard case .mapped = t.storage.kind else { return XCTFail("tensor should be a view of the mapped file") }
        // First bf16 values, read with python's struct from the shard (0xbdc5 0x3dca 0x3d52 0x3e18).
        let bits = t.rawPointer.bindMemory(to: UInt16.self, capacity: 4)
        XCTAssertEqual([bits[0], bits[1], bits[2], bits[3]], [0xbdc5, 0x3dca, 0x3d52, 0x3e18])
        source.prefetch(name)
        source.release(name)
        XCTAssertThrowsError(try source.tensor("no.such.tensor")) { error in
            XCTAssertEqual(error as? OmniError, .missingTensor(key: "no.such.tensor", file: source.files.first))
        }
    }

    func testOpensSingleFileAndFolderWithModelSafetensors() throws {
        let s = try SafetensorsScratch()
        defer { s.remove() }
        let header = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}}"#
        let data: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]   // 1.0, 2.0
        let file = try s.file("model.safetensors", header: header, data: data)
        for url in [file, s.dir] {
            let src = try format.open(url)
            XCTAssertEqual(src.names, ["a", "b"])
            XCTAssertEqual(src.metadata, ["k": "v"])
            let a = try src.tensor("a")
            XCTAssertEqual(a.rawPointer.bindMemory(to: Float.self, capacity: 2)[1], 2.0)
            XCTAssertEqual(try src.tensor("b").elementCount, 0)
        }
        let loaded = try loadSafetensors(file)
        XCTAssertEqual(loaded.tensors.keys.sorted(), ["a", "b"])
    }

    func testRegistryPicksSafetensors() throws {
        let r = BuiltinPluginsRegistry.make()
        XCTAssertEqual(try r.weightFormat(for: Fixtures.tinyModel).name, "safetensors")
    }
}
