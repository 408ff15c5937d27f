import FormatSafetensors
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// The writer: round trips, sharding, padding, and no partial output on failure.
final class SafetensorsWriterTests: XCTestCase {
    let format = SafetensorsFormat()
    var s: SafetensorsScratch!

    override func setUpWithError() throws { s = try SafetensorsScratch() }
    override func tearDown() { s.remove() }

    func entries(of source: any WeightSource) -> [TensorEntry] {
        source.names.compactMap { name in
            guard let i = source.info(name) else { return nil }
            return TensorEntry(name: name, dtype: i.dtype, shape: i.shape) { try source.tensor(name) }
        }
    }

    func bytes(_ t: Tensor) -> [UInt8] { Array(UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)) }

    func testFixtureRoundTripShardedIsByteIdentical() throws {
        let src = try format.open(Fixtures.tinyModel)
        let out = s.dir.appendingPathComponent("out")
        let written = try format.write(entries(of: src), to: out,
                                       options: WeightWriteOptions(maxShardBytes: 1_000_000, metadata: ["format": "pt"]))
        XCTAssertGreaterThan(written.count, 5)   // 5.1 MB in ≤ 1 MB shards, plus the index
        XCTAssertEqual(written.last?.lastPathComponent, "model.safetensors.index.json")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertFalse(names.contains { $0.hasPrefix(".") }, "temporaries left: \(names)")
        XCTAssertTrue(names.contains(String(format: "model-00001-of-%05d.safetensors", written.count - 1)))
        let back = try format.open(out)
        XCTAssertEqual(back.names, src.names)
        XCTAssertEqual(back.metadata["format"], "pt")
        for name in src.names {
            let a = try src.tensor(name), b = try back.tensor(name)
            XCTAssertEqual(a.dtype, b.dtype, name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(bytes(a), bytes(b), name)
        }
        for shard in written.dropLast() {
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: shard.path)[.size] as? Int)
            let header = try Data(contentsOf: shard).prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
            XCTAssertEqual(header % 8, 0, "header padded to 8")
            if try format.open(shard).names.count > 1 {   // a lone tensor may exceed the maximum
                XCTAssertLessThanOrEqual(size - 8 - header, 1_000_000)
            }
        }
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: written.last!)) as? [String: Any]
        let total = (index?["metadata"] as? [String: Any])?["total_size"] as? Int
        XCTAssertEqual(total, src.names.compactMap { src.info($0)?.byteRange.count }.reduce(0, +))
    }

    func testSingleFileSortsWidestFirstAndPadsHeader() throws {
        let a = Tensor([1, 2, 3], shape: [3])
        let b = Tensor(int64: [7], shape: [1])
        let url = s.dir.appendingPathComponent("one.safetensors")
        let es = [TensorEntry(name: "z", dtype: .f32, shape: [3]) { a },
                  TensorEntry(name: "a\"q", dtype: .i64, shape: [1]) { b }]
        XCTAssertEqual(try format.write(es, to: url, options: WeightWriteOptions()), [url])
        let back = try format.open(url)
        XCTAssertEqual(back.names, ["a\"q", "z"])
        // Widest element first: the i64 precedes the f32 in the data area, and both stay aligned.
        let q = try XCTUnwrap(back.info("a\"q")), z = try XCTUnwrap(back.info("z"))
        XCTAssertLessThan(q.byteRange.lowerBound, z.byteRange.lowerBound)
        XCTAssertEqual(q.byteRange.lowerBound % 8, 0)
        XCTAssertEqual(try back.tensor("a\"q").rawPointer.loadUnaligned(as: Int64.self), 7)
        XCTAssertEqual(try back.tensor("z").rawPointer.loadUnaligned(fromByteOffset: 8, as: Float.self), 3)
    }

    func testStridedTensorIsWrittenContiguously() throws {
        let m = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).permuted([1, 0])   // (3, 2) view
        let url = s.dir.appendingPathComponent("t.safetensors")
        _ = try format.write([TensorEntry(name: "t", dtype: .f32, shape: [3, 2]) { m }], to: url,
                             options: WeightWriteOptions())
        let t = try format.open(url).tensor("t")
        XCTAssertEqual(Array(UnsafeBufferPointer(start: t.rawPointer.bindMemory(to: Float.self, capacity: 6), count: 6)),
                       [1, 4, 2, 5, 3, 6])
    }

    struct Boom: Error {}

    func testFailureLeavesNothingBehind() throws {
        let out = s.dir.appendingPathComponent("fail")
        let ok = Tensor([1, 2], shape: [2])
        let es = [TensorEntry(name: "a", dtype: .f32, shape: [2]) { ok },
                  TensorEntry(name: "b", dtype: .f32, shape: [2]) { ok },
                  TensorEntry(name: "c", dtype: .f32, shape: [2]) { throw Boom() }]
        XCTAssertThrowsError(try format.write(es, to: out, options: WeightWriteOptions(maxShardBytes: 8))) {
            XCTAssertTrue($0 is Boom)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [])
        let single = s.dir.appendingPathComponent("x.safetensors")
        XCTAssertThrowsError(try format.write(es, to: single, options: WeightWriteOptions()))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: s.dir.path).contains { $0.contains("x.safe") })
        // A tensor whose data disagrees with its entry.
        let wrong = [TensorEntry(name: "a", dtype: .f32, shape: [3]) { ok }]
        XCTAssertThrowsError(try format.write(wrong, to: single, options: WeightWriteOptions())) {
            guard case OmniError.invalidArgument = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: single.path))
    }

    func testQuantizedDTypeRefused() throws {
        let e = TensorEntry(name: "q", dtype: .q8_0, shape: [32]) { Tensor(zeros: [32], dtype: .q8_0) }
        XCTAssertThrowsError(try format.write([e], to: s.dir.appendingPathComponent("q.safetensors"),
                                              options: WeightWriteOptions())) {
            guard case OmniError.unsupported = $0 else { return XCTFail("\($0)") }
        }
    }
}
