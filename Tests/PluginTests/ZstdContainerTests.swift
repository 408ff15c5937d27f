import BuiltinPlugins
import CZstd
import Foundation
import FormatZstd
import OmniCore
import OmniTestSupport
import XCTest

/// The `.omz` container: bit-exact round trips, checksums, hostile files.
final class ZstdContainerTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory("omz-tests") }

    static func bytes(_ t: Tensor) -> [UInt8] { Array(UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)) }

    static func randomBits(_ shape: Shape, _ dtype: DType, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(zeros: shape, dtype: dtype)
        let p = t.mutableRawPointer.assumingMemoryBound(to: UInt8.self)
        for i in 0..<t.byteCount { p[i] = UInt8.random(in: 0...255, using: &g) }
        return t
    }

    static func gaussianBF16(_ n: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(zeros: [n], dtype: .bf16)
        let p = t.mutableRawPointer.assumingMemoryBound(to: UInt16.self)
        for i in 0..<n { p[i] = Scalar.floatToBF16(g.normal() * 0.02) }
        return t
    }

    func roundTrip(_ named: [(String, Tensor)], writer: ZstdWriter, threads: Int = 2, file: String = "m.omz") throws -> ZstdSource {
        let path = dir.appendingPathComponent(file).path
        let entries = named.map { n, t in TensorEntry(name: n, dtype: t.dtype, shape: t.shape) { t } }
        try writer.write(entries, metadata: ["format": "pt"], to: path)
        let src = try ZstdSource(path: path, threads: threads)
        XCTAssertEqual(src.names, named.map(\.0).sorted())
        XCTAssertEqual(src.metadata, ["format": "pt"])
        for (n, t) in named {
            let r = try src.tensor(n)
            XCTAssertEqual(r.dtype, t.dtype, n)
            XCTAssertEqual(r.shape, t.shape, n)
            XCTAssertEqual(Self.bytes(r), Self.bytes(t), "bit-exact: \(n)")
            XCTAssertEqual(Int(bitPattern: r.rawPointer) % 64, 0, "64-byte aligned: \(n)")
        }
        return src
    }

    // MARK: XXH64

    /// zstd writes the low 32 bits of XXH64(content) at the end of a frame when checksums are on.
    func zstdChecksum(_ data: [UInt8]) -> UInt32 {
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
        let n = data.withUnsafeBytes { s in out.withUnsafeMutableBytes { d in
            ZSTD_compress2(cctx, d.baseAddress, d.count, s.baseAddress, s.count) } }
        XCTAssertEqual(ZSTD_isError(n), 0)
        return out[n - 4..<n].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    func testXXH64MatchesZstdAndKnownValues() {
        XCTAssertEqual([UInt8]().withUnsafeBytes { XXH64.hash($0) }, 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(Array("abc".utf8).withUnsafeBytes { XXH64.hash($0) }, 0x44BC_2CF5_AD77_0999)
        var g = SeededGenerator(seed: 5)
        for n in Array(0..<80) + [255, 1000, 4099] {
            let d = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            XCTAssertEqual(UInt32(truncatingIfNeeded: d.withUnsafeBytes { XXH64.hash($0) }), zstdChecksum(d), "length \(n)")
        }
    }

    // MARK: round trips

    func testRoundTripEveryDTypeManyChunks() throws {
        let named: [(String, Tensor)] = [
            ("bf16", Self.gaussianBF16(5000, seed: 1)),
            ("bf16.bits", Self.randomBits([33, 7], .bf16, seed: 2)), // NaN, inf, subnormal, -0 patterns included
            ("f32.bits", Self.randomBits([3, 301], .f32, seed: 3)),
            ("f16.bits", Self.randomBits([999], .f16, seed: 4)),
            ("q8", Self.randomBits([4, 64], .q8_0, seed: 5)),
            ("q4", Self.randomBits([2, 96], .q4_0, seed: 6)),
            ("i64", Self.randomBits([17], .i64, seed: 7)),
            ("u8", Self.randomBits([1001], .u8, seed: 8)),
            ("scalar", Self.randomBits([], .f32, seed: 9)),
            ("empty", Tensor(zeros: [0, 3], dtype: .bf16)),
        ]
        // 1000-byte chunks: many chunks per tensor, a short last chunk, both threads busy.
        _ = try roundTrip(named, writer: ZstdWriter(level: 1, chunkBytes: 1000, threads: 2))
        _ = try roundTrip(named, writer: ZstdWriter(level: 3, chunkBytes: 1 << 20, threads: 1), threads: 1, file: "b.omz")
    }

    func testGaussianBF16CompressesBetterThanRaw() throws {
        let t = Self.gaussianBF16(1 << 16, seed: 11)
        let src = try roundTrip([("w", t)], writer: ZstdWriter())
        let info = try XCTUnwrap(src.info("w"))
        let ratio = Double(t.byteCount) / Double(info.byteRange.count)
        XCTAssertGreaterThan(ratio, 1.3, "planes should beat raw bytes (ratio \(ratio))")
    }

    /// The bundled checkpoint through a minimal safetensors reader (header JSON + offsets), bit-exact.
    func testFixtureCheckpointRoundTrip() throws {
        let folder = Fixtures.tinyModel
        let shards = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".safetensors") }.sorted()
        XCTAssertEqual(shards.count, 4)
        var named: [(String, Tensor)] = []
        for s in shards {
            let data = try Data(contentsOf: folder.appendingPathComponent(s))
            let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + n)) as? [String: Any])
            for (name, v) in header where name != "__metadata__" {
                let d = try XCTUnwrap(v as? [String: Any])
                let dtype: DType = try XCTUnwrap(["BF16": .bf16, "F32": .f32, "F16": .f16, "I64": .i64][d["dtype"] as? String ?? ""])
                let shape = Shape(try XCTUnwrap(d["shape"] as? [Int]))
                let off = try XCTUnwrap(d["data_offsets"] as? [Int])
                let t = Tensor(zeros: shape, dtype: dtype)
                XCTAssertEqual(off[1] - off[0], t.byteCount, name)
                data.subdata(in: 8 + n + off[0]..<8 + n + off[1]).withUnsafeBytes {
                    t.mutableRawPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
                named.append((name, t))
            }
        }
        XCTAssertGreaterThan(named.count, 100)
        _ = try roundTrip(named, writer: ZstdWriter())
    }

    func testRegistryOpensByMagicAndFolder() throws {
        let out = dir.appendingPathComponent("out")
        let files = try ZstdFormat().write([TensorEntry(name: "a", dtype: .f32, shape: [2]) { Tensor([1, 2], shape: [2]) }],
                                           to: out, options: WeightWriteOptions())
        XCTAssertEqual(files.map(\.lastPathComponent), ["model.omz"])
        let r = BuiltinPlugins.registry()
        XCTAssertEqual(try r.weightFormat(for: out).name, "zstd")
        XCTAssertEqual(try r.weightFormat(for: files[0]).open(files[0]).tensor("a").floats(), [1, 2])
    }

    func testFailedWriteLeavesNothing() throws {
        struct Boom: Error {}
        let entries = [TensorEntry(name: "a", dtype: .f32, shape: [2]) { Tensor([1, 2], shape: [2]) },
                       TensorEntry(name: "b", dtype: .f32, shape: [2]) { throw Boom() }]
        XCTAssertThrowsError(try ZstdWriter().write(entries, metadata: [:], to: dir.appendingPathComponent("x.omz").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    // MARK: hostile files

    func expectError(_ path: String, tensor: String?, _ reason: String, load: String? = nil, line: UInt = #line) {
        XCTAssertThrowsError(try { let s = try ZstdSource(path: path); if let load { _ = try s.tensor(load) } }(), line: line) { e in
            guard case let OmniError.weightFile(file, t, r) = e else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(file, path, line: line)
            XCTAssertEqual(t, tensor, line: line)
            XCTAssertTrue(r.contains(reason), r, line: line)
        }
    }

    func testFlippedByteInAChunkIsAChecksumErrorNamingTheTensor() throws {
        let path = dir.appendingPathComponent("m.omz").path
        let t = Self.gaussianBF16(3000, seed: 3)
        try ZstdWriter(chunkBytes: 1024).write([TensorEntry(name: "layer.w", dtype: .bf16, shape: t.shape) { t }],
                                               metadata: [:], to: path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[40] ^= 0x10 // inside the first frame
        try data.write(to: URL(fileURLWithPath: path))
        let src = try ZstdSource(path: path) // the index is intact: opening works, loading does not
        XCTAssertEqual(src.names, ["layer.w"])
        expectError(path, tensor: "layer.w", "chunk 0 plane 0: checksum mismatch", load: "layer.w")
        // The last frame is the raw (uncompressed) mantissa plane of the last chunk: checked the same way.
        data[40] ^= 0x10
        let indexOffset = data.subdata(in: 8..<16).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        data[indexOffset - 3] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
        expectError(path, tensor: "layer.w", "chunk 5 plane 1: checksum mismatch", load: "layer.w")
    }

    func testTruncatedAndCorruptHeaderOrIndex() throws {
        let path = dir.appendingPathComponent("m.omz").path
        let t = Self.gaussianBF16(3000, seed: 4)
        try ZstdWriter(chunkBytes: 1024).write([TensorEntry(name: "w", dtype: .bf16, shape: t.shape) { t }], metadata: [:], to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = dir.appendingPathComponent("cut.omz").path
        for n in [0, 3, 31, 32, 100, good.count / 2, good.count - 1] {
            try good.prefix(n).write(to: URL(fileURLWithPath: cut))
            expectError(cut, tensor: nil, n < 32 ? "truncated" : "index")
        }
        var bad = good
        bad[0] = UInt8(ascii: "X")
        try bad.write(to: URL(fileURLWithPath: cut))
        expectError(cut, tensor: nil, "bad magic")
        bad = good
        bad[good.count - 2] ^= 1 // inside the JSON index
        try bad.write(to: URL(fileURLWithPath: cut))
        expectError(cut, tensor: nil, "index checksum mismatch")
    }

    /// An index that passes its checksum but lies: frames outside the file, wrong counts, unknown dtype.
    func testLyingIndexIsRejected() throws {
        let path = dir.appendingPathComponent("m.omz").path
        let t = Self.gaussianBF16(600, seed: 5)
        try ZstdWriter(chunkBytes: 1024).write([TensorEntry(name: "w", dtype: .bf16, shape: t.shape) { t }], metadata: [:], to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let indexOffset = good.subdata(in: 8..<16).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let json = try XCTUnwrap(String(data: good.subdata(in: indexOffset..<good.count), encoding: .utf8))
        func rewrite(_ newJSON: String) throws -> String {
            var d = good.prefix(indexOffset)
            let j = [UInt8](newJSON.utf8)
            d.append(contentsOf: j)
            var head = [UInt8]()
            for v in [UInt64(indexOffset), UInt64(j.count), j.withUnsafeBytes { XXH64.hash($0) }] {
                withUnsafeBytes(of: v.littleEndian) { head += $0 }
            }
            d.replaceSubrange(8..<32, with: head)
            let p = dir.appendingPathComponent("lie.omz").path
            try d.write(to: URL(fileURLWithPath: p))
            return p
        }
        expectError(try rewrite(json.replacingOccurrences(of: "\"offset\":32,", with: "\"offset\":99999999,")), tensor: "w", "outside the data area")
        expectError(try rewrite(json.replacingOccurrences(of: "\"bf16\"", with: "\"bf17\"")), tensor: "w", "unknown dtype")
        expectError(try rewrite(json.replacingOccurrences(of: "[600]", with: "[6000]")), tensor: "w", "frames, expected")
        expectError(try rewrite(json.replacingOccurrences(of: "\"planes\":2", with: "\"planes\":1")), tensor: "w", "planes 1")
        expectError(try rewrite("{\"tensors\": 5}"), tensor: nil, "not valid JSON")
        // Frame sizes that lie: zstd reports the error; it is typed and names the tensor.
        // Chunk sizes that lie (same frame count, frames hold 512 units, not 300): zstd refuses, typed.
        expectError(try rewrite(json.replacingOccurrences(of: "\"chunkUnits\":512", with: "\"chunkUnits\":300")),
                    tensor: "w", "chunk 0 plane 0: zstd", load: "w")
    }
}
