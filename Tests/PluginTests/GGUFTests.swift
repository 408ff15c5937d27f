import BuiltinPlugins
import Foundation
import FormatGGUF
import OmniCore
import OmniTestSupport
import XCTest

/// A hand-rolled GGUF byte builder, independent of the plugin's encoder, for valid and hostile files.
struct GGUFBytes {
    var b: [UInt8] = []
    mutating func u8(_ v: UInt8) { b.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); b += s.utf8 }
    mutating func pad(_ a: Int) { while b.count % a != 0 { b.append(0) } }

    /// A file: header, key-values (already encoded), tensor infos (name, dims fastest-first, type, offset),
    /// then `data` at the aligned data section.
    static func file(version: UInt32 = 3, magic: String = "GGUF", kvCount: Int, kvs: [UInt8],
                     tensors: [(String, [UInt64], UInt32, UInt64)], data: [UInt8], align: Int = 32) -> [UInt8] {
        var f = GGUFBytes()
        f.b += magic.utf8
        f.u32(version)
        f.u64(UInt64(tensors.count))
        f.u64(UInt64(kvCount))
        f.b += kvs
        for t in tensors {
            f.str(t.0)
            f.u32(UInt32(t.1.count))
            for d in t.1 { f.u64(d) }
            f.u32(t.2)
            f.u64(t.3)
        }
        f.pad(align)
        f.b += data
        return f.b
    }
}

final class GGUFTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory("gguf-tests") }

    func write(_ bytes: [UInt8], _ name: String = "t.gguf") throws -> String {
        let p = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Random bytes of a tensor of `dtype` and `shape` (valid f16 scales not needed: bytes round-trip as bytes).
    static func randomTensor(_ shape: Shape, _ dtype: DType, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let t = Tensor(zeros: shape, dtype: dtype)
        let p = t.mutableRawPointer.assumingMemoryBound(to: UInt8.self)
        for i in 0..<t.byteCount { p[i] = UInt8.random(in: 0...255, using: &g) }
        return t
    }

    static func entry(_ name: String, _ t: Tensor) -> TensorEntry {
        TensorEntry(name: name, dtype: t.dtype, shape: t.shape) { t }
    }

    static func bytes(_ t: Tensor) -> [UInt8] { Array(UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)) }

    // MARK: round trips

    func testRoundTripNamesShapesBytesAndMetadata() throws {
        let specs: [(String, Shape, DType)] = [
            ("thinker.model.embed_tokens.weight", [96, 64], .bf16),
            ("thinker.model.layers.0.self_attn.q_proj.weight", [64, 64], .bf16),
            ("thinker.model.layers.0.self_attn.q_proj.bias", [64], .bf16),
            ("thinker.model.layers.11.mlp.down_proj.weight", [64, 128], .q8_0),
            ("thinker.model.layers.11.mlp.up_proj.weight", [128, 64], .q4_0),
            ("thinker.model.layers.12.mlp.down_proj.weight", [3, 512], .q4_k),
            ("thinker.model.layers.12.mlp.up_proj.weight", [2, 256], .q6_k),
            ("thinker.model.layers.12.mlp.gate_proj.weight", [5, 96], .q5_0),
            ("thinker.model.norm.weight", [64], .f32),
            ("thinker.lm_head.weight", [96, 64], .f16),
            ("thinker.visual.patch_embed.proj.weight", [8, 3, 2, 14, 14], .f32),
            ("talker.codec_head.weight", [7, 5], .f32),
            ("ids", [3], .i64), ("scalar", [], .f32), ("empty", [0, 4], .f32), ("i8s", [5], .i8), ("i32s", [2, 3], .i32),
        ]
        let tensors = specs.enumerated().map { Self.randomTensor($1.1, $1.2, seed: UInt64($0)) }
        let entries = zip(specs, tensors).map { Self.entry($0.0, $1) }
        let nested: GGUFValue = .array(elementType: .array, [.array(elementType: .int32, [.int32(-1), .int32(2)]),
                                                             .array(elementType: .string, [.string("a\"b"), .string("")])])
        let extra: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("qwen2")), ("u8", .uint8(255)), ("i8", .int8(-128)), ("u16", .uint16(65535)),
            ("i16", .int16(-32768)), ("u32", .uint32(.max)), ("i32", .int32(.min)), ("u64", .uint64(.max)),
            ("i64", .int64(.min)), ("f32", .float32(0.5)), ("f64", .float64(-1.25)), ("yes", .bool(true)),
            ("nested", nested), ("none", .array(elementType: .float32, [])),
        ]
        let path = dir.appendingPathComponent("m.gguf").path
        try GGUFWriter(alignment: 64, extraMetadata: extra).write(entries, to: path)

        let src = try GGUFSource(path: path)
        XCTAssertEqual(src.names, specs.map(\.0).sorted())
        XCTAssertEqual(src.alignment, 64)
        XCTAssertEqual(src.version, 3)
        for ((name, shape, dtype), t) in zip(specs, tensors) {
            let r = try src.tensor(name)
            XCTAssertEqual(r.shape, shape, name)
            XCTAssertEqual(r.dtype, dtype, name)
            XCTAssertEqual(Self.bytes(r), Self.bytes(t), name)
            XCTAssertTrue(r.storage.isReadOnly, "zero-copy from the mapping: \(name)")
            XCTAssertEqual((src.info(name)?.byteRange.lowerBound ?? 1) % 64, 0, "aligned: \(name)")
        }
        XCTAssertEqual(src.ggufName("thinker.model.embed_tokens.weight"), "token_embd.weight")
        XCTAssertEqual(src.ggufName("thinker.model.layers.0.self_attn.q_proj.bias"), "blk.0.attn_q.bias")
        XCTAssertEqual(src.ggufName("thinker.model.layers.11.mlp.down_proj.weight"), "blk.11.ffn_down.weight")
        XCTAssertEqual(src.ggufName("thinker.lm_head.weight"), "output.weight")
        XCTAssertEqual(src.ggufName("talker.codec_head.weight"), "talker.codec_head.weight")
        for kv in extra { XCTAssertEqual(src.values.first { $0.key == kv.key }?.value, kv.value, kv.key) }
        XCTAssertEqual(src.metadata["u64"], "18446744073709551615")
        XCTAssertEqual(src.metadata["nested"], "[[-1, 2], [\"a\\\"b\", \"\"]]")
        XCTAssertEqual(src.metadata["general.architecture"], "qwen2")
        XCTAssertNil(src.metadata[GGUFSource.hfNamesKey])
        // The file's own dims are fastest-first: the patch-embed weight is stored as 14, 14, 2, 3, 8.
        let info = try XCTUnwrap(src.info("thinker.visual.patch_embed.proj.weight"))
        XCTAssertEqual(info.shape, [8, 3, 2, 14, 14])
    }

    func testReverseNameTableWithoutStoredNames() throws {
        var kv = GGUFBytes()
        kv.str("general.alignment"); kv.u32(4); kv.u32(32)
        let data = [UInt8](repeating: 7, count: 72)
        let f = GGUFBytes.file(version: 2, kvCount: 1, kvs: kv.b,
                               tensors: [("blk.3.ffn_gate.weight", [4, 2], 0, 0), ("output_norm.weight", [4], 0, 32),
                                         ("custom.x", [2], 0, 64)], data: data)
        let src = try GGUFSource(path: try write(f))
        XCTAssertEqual(src.version, 2)
        XCTAssertEqual(src.names, ["custom.x", "thinker.model.layers.3.mlp.gate_proj.weight", "thinker.model.norm.weight"])
        XCTAssertEqual(src.info("thinker.model.layers.3.mlp.gate_proj.weight")?.shape, [2, 4])
    }

    func testRegistryPicksGGUFByMagicAndFolder() throws {
        let path = dir.appendingPathComponent("x.gguf").path
        try GGUFWriter().write([Self.entry("a", Self.randomTensor([4], .f32, seed: 1))], to: path)
        let r = BuiltinPlugins.registry()
        XCTAssertEqual(try r.weightFormat(for: URL(fileURLWithPath: path)).name, "gguf")
        XCTAssertEqual(try r.weightFormat(for: dir).name, "gguf")
        XCTAssertEqual(try r.weightFormat(for: dir).open(dir).names, ["a"])
        let notGGUF = try write([UInt8]("GGUX".utf8), "n.bin")
        XCTAssertFalse(GGUFFormat().canOpen(URL(fileURLWithPath: notGGUF)))
    }

    func testFormatWriteIntoFolderAndRefusesShards() throws {
        let out = dir.appendingPathComponent("out")
        let files = try GGUFFormat().write([Self.entry("a", Self.randomTensor([32], .f32, seed: 2))], to: out,
                                           options: WeightWriteOptions(metadata: ["format": "pt"]))
        XCTAssertEqual(files.map(\.lastPathComponent), ["model.gguf"])
        XCTAssertEqual(try GGUFFormat().open(out).metadata["format"], "pt")
        XCTAssertThrowsError(try GGUFFormat().write([], to: dir.appendingPathComponent("s.gguf"),
                                                    options: WeightWriteOptions(maxShardBytes: 10)))
    }

    func testFailedWriteLeavesNothing() throws {
        struct Boom: Error {}
        let entries = [Self.entry("a", Self.randomTensor([64], .f32, seed: 3)),
                       TensorEntry(name: "b", dtype: .f32, shape: [4]) { throw Boom() }]
        let path = dir.appendingPathComponent("fail.gguf").path
        XCTAssertThrowsError(try GGUFWriter().write(entries, to: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        let u8 = [Self.entry("u", Self.randomTensor([4], .u8, seed: 4))]
        XCTAssertThrowsError(try GGUFWriter().write(u8, to: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    // MARK: hostile input

    /// Opens `bytes` and expects a `weightFile` error naming the file (and `tensor` when given) whose
    /// reason contains `reason`.
    func expectError(_ bytes: [UInt8], tensor: String? = nil, _ reason: String, line: UInt = #line) throws {
        let path = try write(bytes)
        XCTAssertThrowsError(try GGUFSource(path: path), line: line) { e in
            guard case let OmniError.weightFile(file, t, r) = e else { return XCTFail("\(e)", line: line) }
            XCTAssertEqual(file, path, line: line)
            if let tensor { XCTAssertEqual(t, tensor, line: line) }
            XCTAssertTrue(r.contains(reason), "\(r)", line: line)
        }
    }

    func oneTensor(kvs: [UInt8] = [], kvCount: Int = 0, dims: [UInt64] = [8], type: UInt32 = 0, offset: UInt64 = 0,
                   data: Int = 32, version: UInt32 = 3, magic: String = "GGUF") -> [UInt8] {
        GGUFBytes.file(version: version, magic: magic, kvCount: kvCount, kvs: kvs, tensors: [("w", dims, type, offset)],
                       data: [UInt8](repeating: 1, count: data))
    }

    func alignmentKV(_ v: UInt32) -> [UInt8] {
        var kv = GGUFBytes()
        kv.str("general.alignment"); kv.u32(4); kv.u32(v)
        return kv.b
    }

    func testBadMagicVersionAlignment() throws {
        try expectError(oneTensor(magic: "GGML"), "bad magic")
        try expectError(oneTensor(version: 4), "unsupported GGUF version 4")
        try expectError(oneTensor(version: 1), "unsupported GGUF version 1")
        try expectError(oneTensor(version: 3 << 24), "big-endian")
        try expectError(oneTensor(kvs: alignmentKV(0), kvCount: 1), "power of two")
        try expectError(oneTensor(kvs: alignmentKV(48), kvCount: 1), "power of two")
    }

    func testEveryTruncationIsATypedError() throws {
        let good = oneTensor()
        XCTAssertNoThrow(try GGUFSource(path: try write(good)))
        for n in 0..<good.count {
            let path = try write(Array(good[0..<n]))
            XCTAssertThrowsError(try GGUFSource(path: path), "length \(n)") { e in
                guard case let OmniError.weightFile(file, _, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(file, path)
            }
        }
    }

    func testDataOutOfBoundsMisalignedAndOverlapping() throws {
        try expectError(oneTensor(offset: 64), tensor: "w", "outside the file")
        try expectError(oneTensor(offset: 8), tensor: "w", "not a multiple of the alignment")
        try expectError(oneTensor(offset: .max), tensor: "w", "beyond the file")
        try expectError(oneTensor(dims: [UInt64(Int.max), 4]), tensor: "w", "overflows")
        try expectError(oneTensor(dims: [1 << 40, 1 << 40]), tensor: "w", "overflows")
        try expectError(oneTensor(dims: [16], type: 8), tensor: "w", "multiple of 32")
        try expectError(oneTensor(type: 13), tensor: "w", "Q5_K is not supported")
        // k-quants: rows must be whole 256-value super-blocks (llama.cpp writes Q5_0/Q8_0 for other rows).
        try expectError(oneTensor(dims: [128, 2], type: 12), tensor: "w", "q4_k needs the fastest dimension (columns) to be a multiple of 256")
        try expectError(oneTensor(dims: [896, 1], type: 14), tensor: "w", "multiple of 256")
        try expectError(oneTensor(dims: [48], type: 6), tensor: "w", "multiple of 32")
        try expectError(oneTensor(dims: [1, 1, 1, 1, 1, 1, 1, 1, 1]), tensor: "w", "n_dims 9")
        let two = GGUFBytes.file(kvCount: 0, kvs: [], tensors: [("a", [16], 0, 0), ("b", [8], 0, 32)],
                                 data: [UInt8](repeating: 0, count: 64))
        try expectError(two, tensor: "b", "overlaps tensor 'a'")
        let dup = GGUFBytes.file(kvCount: 0, kvs: [], tensors: [("a", [8], 0, 0), ("a", [8], 0, 32)],
                                 data: [UInt8](repeating: 0, count: 64))
        try expectError(dup, tensor: "a", "appears twice")
    }

    func testHostileStringsArraysAndCounts() throws {
        var f = GGUFBytes()
        f.b += "GGUF".utf8; f.u32(3); f.u64(0); f.u64(1)
        f.u64(1 << 40) // key length far beyond the file
        try expectError(f.b + [UInt8](repeating: 65, count: 40), "absurd")
        var g = GGUFBytes()
        g.b += "GGUF".utf8; g.u32(3); g.u64(UInt64.max); g.u64(0)
        try expectError(g.b, "tensor count")
        var h = GGUFBytes()
        h.b += "GGUF".utf8; h.u32(3); h.u64(0); h.u64(1 << 50)
        try expectError(h.b + [UInt8](repeating: 0, count: 64), "key-value count")
        var kv = GGUFBytes()
        kv.str("arr"); kv.u32(9); kv.u32(6); kv.u64(1 << 60)
        try expectError(oneTensor(kvs: kv.b, kvCount: 1), "array length")
        var kv2 = GGUFBytes()
        kv2.str("b"); kv2.u32(7); kv2.u8(2)
        try expectError(oneTensor(kvs: kv2.b, kvCount: 1), "bool byte 2")
        var kv3 = GGUFBytes()
        kv3.str("t"); kv3.u32(13); kv3.u8(0)
        try expectError(oneTensor(kvs: kv3.b, kvCount: 1), "unknown value type 13")
        var kv4 = GGUFBytes()
        kv4.str("s"); kv4.u32(8); kv4.u64(2); kv4.b += [0xFF, 0xFE]
        try expectError(oneTensor(kvs: kv4.b, kvCount: 1), "not valid UTF-8")
        var deep = GGUFBytes()
        deep.str("deep"); deep.u32(9)
        for _ in 0..<20 { deep.u32(9); deep.u64(1) }
        deep.u32(0); deep.u64(0)
        try expectError(oneTensor(kvs: deep.b, kvCount: 1), "nested deeper")
        var names = GGUFBytes()
        names.str(GGUFSource.hfNamesKey); names.u32(9); names.u32(8); names.u64(2); names.str("a"); names.str("b")
        try expectError(oneTensor(kvs: names.b, kvCount: 1), "one per tensor")
    }
}
