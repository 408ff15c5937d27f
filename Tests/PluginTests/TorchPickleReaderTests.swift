import FormatTorchPickle
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Reading `spk_dict.pt` and hand-built torch archives.
final class TorchPickleReaderTests: XCTestCase {
    let format = TorchPickleFormat()

    func floats(_ t: Tensor, _ n: Int) -> [Float] {
        (0..<n).map { t.rawPointer.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }

    /// Expected values printed by a one-off Python script (zipfile + a custom pickle.Unpickler + struct).
    func testSpeakerDictionary() throws {
        let url = Fixtures.tinyModel.appendingPathComponent("spk_dict.pt")
        XCTAssertTrue(format.canOpen(url))
        let src = try format.open(url)
        XCTAssertEqual(src.formatName, "torch")
        XCTAssertEqual(src.names, ["Chelsie.cond", "Chelsie.ref_mel", "Ethan.cond", "Ethan.ref_mel"])
        XCTAssertEqual(src.metadata, ["Chelsie.bos_token": "2038", "Ethan.bos_token": "2037"])
        let cond = try src.tensor("Chelsie.cond")
        XCTAssertEqual(cond.dtype, .f32)
        XCTAssertEqual(cond.shape, [32])
        guard case .mapped = cond.storage.kind else { return XCTFail("expected a view of the mapped archive") }
        XCTAssertEqual(floats(cond, 3), [0.39198997616767883, -0.9574058055877686, -2.576197624206543])
        XCTAssertEqual(cond.rawPointer.loadUnaligned(fromByteOffset: 31 * 4, as: Float.self), -1.6108675003051758)
        let mel = try src.tensor("Ethan.ref_mel")
        XCTAssertEqual(mel.shape, [1, 48, 80])
        XCTAssertTrue(mel.isContiguous)
        XCTAssertEqual(floats(mel, 3), [-0.3750503957271576, -1.379626989364624, -1.636183500289917])
        XCTAssertEqual(mel.rawPointer.loadUnaligned(fromByteOffset: (3840 - 1) * 4, as: Float.self), -0.36824309825897217)
        XCTAssertEqual(try XCTUnwrap(src.info("Ethan.ref_mel")).byteRange.count, 3840 * 4)
        src.prefetch("Ethan.ref_mel")
        src.release("Ethan.ref_mel")
    }

    /// Tests/Fixtures/torch/state_dict.pt, pickled by CPython (see make_state_dict.py beside it): memo
    /// references, OrderedDict, nested dicts, a parameter, shared storage, a transposed view, scalars.
    func testCPythonPickledStateDict() throws {
        let url = Fixtures.root.appendingPathComponent("Tests/Fixtures/torch/state_dict.pt")
        let src = try format.open(url)
        XCTAssertEqual(src.names, ["encoder.half", "encoder.tail", "encoder.weight", "encoder.weight_t", "ids"])
        XCTAssertEqual(src.metadata, [
            "config.lr": "0.5", "config.name": "tiny", "config.steps": "300000", "config.neg": "-5",
            "config.flag": "true", "config.none": "null", "config.sizes.0": "3", "config.sizes.1": "4",
        ])
        let w = try src.tensor("encoder.weight")
        XCTAssertEqual(w.shape, [2, 3])
        XCTAssertEqual(floats(w, 6), [0, 1, 2, 3, 4, 5])
        let wt = try src.tensor("encoder.weight_t")
        XCTAssertEqual(wt.shape, [3, 2])
        XCTAssertEqual(wt.strides, [1, 3])
        XCTAssertEqual(floats(wt.contiguous(), 6), [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(floats(try src.tensor("encoder.tail"), 2), [4, 5])
        let half = try src.tensor("encoder.half")
        XCTAssertEqual(half.dtype, .f16)
        XCTAssertEqual((0..<4).map { half.rawPointer.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) },
                       [0x3C00, 0x4000, 0xC000, 0x3800])
        let ids = try src.tensor("ids")
        XCTAssertEqual(ids.dtype, .i64)
        XCTAssertEqual((0..<3).map { ids.rawPointer.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }, [7, -8, 9])
        try WeightFormatConformance.checkReader(format, url: url)
    }

    func testRegistryPicksTorchForPt() throws {
        let url = Fixtures.tinyModel.appendingPathComponent("spk_dict.pt")
        XCTAssertEqual(try BuiltinPluginsRegistry.make().weightFormat(for: url).name, "torch")
    }

    func testStridedViewWithOffset() throws {
        // Storage of 8 floats 0…7; tensor = storage[1:].view(?) with size (2, 3), stride (1, 2), offset 1:
        // element [i][j] = storage[1 + i + 2j] → [[1, 3, 5], [2, 4, 6]].
        let data = (0..<8).flatMap { withUnsafeBytes(of: Float($0)) { Array($0) } }
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("w")
            + P.tensor(key: "0", numel: 8, offset: 1, size: [2, 3], stride: [1, 2]) + P.setitems + P.stop
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.pt")
        try Data(TorchZip.archive([("m/data.pkl", pkl), ("m/byteorder", Array("little".utf8)), ("m/data/0", data)]))
            .write(to: url)
        let t = try format.open(url).tensor("w")
        XCTAssertEqual(t.shape, [2, 3])
        XCTAssertFalse(t.isContiguous)
        let c = t.contiguous()
        XCTAssertEqual(Array(UnsafeBufferPointer(start: c.floatPointer, count: 6)), [1, 3, 5, 2, 4, 6])
    }
}
