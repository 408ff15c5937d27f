import BuiltinPlugins
import DTypeStandard
import Foundation
import FormatGGUF
import OmniCore
import OmniTestSupport
import XCTest

/// Q4_K, Q6_K and Q5_0 (the types of llama.cpp's Q4_K_M files) against gguf-py's dequantization, bit for bit:
/// Tests/Fixtures/kquants/kquants.gguf (Tests/Fixtures/make_kquants.py, gguf 0.19.0) holds random blocks of each
/// type and, as `NAME.f32`, what `gguf.quants.dequantize` made of them.
final class KQuantTests: XCTestCase {
    let conv = KQuantConverter()
    static let fixture = Fixtures.root.appendingPathComponent("Tests/Fixtures/kquants/kquants.gguf").path

    func dequantize(_ t: Tensor, to: DType = .f32) throws -> Tensor {
        let out = Tensor(zeros: t.shape, dtype: to)
        try conv.convert(t.rawPointer, from: t.dtype, to: out.mutableRawPointer, to, count: t.elementCount)
        return out
    }

    func testDequantizationEqualsGGUFPyBitForBit() throws {
        let src = try GGUFSource(path: Self.fixture)
        let cases: [(String, DType, Shape)] = [("q4_k", .q4_k, [3, 512]), ("q6_k", .q6_k, [3, 512]), ("q5_0", .q5_0, [3, 96])]
        for (name, dtype, shape) in cases {
            let q = try src.tensor(name)
            XCTAssertEqual(q.dtype, dtype, name)
            XCTAssertEqual(q.shape, shape, name)
            XCTAssertEqual(q.byteCount, shape.elementCount / dtype.blockElements * dtype.blockBytes, name)
            let want = try src.tensor(name + ".f32").floats()
            let wide = try dequantize(q)
            let got = try wide.floats()
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), name)
            XCTAssertGreaterThan(Set(want).count, 100, "\(name): the fixture exercises many values")
            // 16-bit targets are the f32 values narrowed (round to nearest even), as StandardConverter narrows them.
            for narrow in [DType.f16, .bf16] {
                let h = try dequantize(q, to: narrow)
                let n = Tensor(zeros: shape, dtype: narrow)
                try StandardConverter().convert(wide.rawPointer, from: .f32, to: n.mutableRawPointer, narrow,
                                                count: shape.elementCount)
                XCTAssertEqual(GGUFTests.bytes(h), GGUFTests.bytes(n), "\(name) → \(narrow)")
            }
        }
    }

    func testBlockSizesAndSpellings() {
        XCTAssertEqual(DType.q4_k.byteCount(elements: 512), 288)
        XCTAssertEqual(DType.q6_k.byteCount(elements: 256), 210)
        XCTAssertEqual(DType.q5_0.byteCount(elements: 64), 44)
        XCTAssertNil(DType.q4_k.byteCount(elements: 896))
        XCTAssertEqual(DType(userSpelling: "Q4_K"), .q4_k)
        XCTAssertEqual(DType(userSpelling: "q6_k"), .q6_k)
        XCTAssertEqual(DType(userSpelling: "Q5_0"), .q5_0)
        XCTAssertFalse(DType.q4_k.isConversionTarget)
        XCTAssertTrue(DType.q4_0.isConversionTarget)
    }

    func testRejectsPartialBlocksAndTheQuantizingDirection() throws {
        let src = [UInt8](repeating: 0, count: 1024)
        var buf = [UInt8](repeating: 0, count: 4096)
        try src.withUnsafeBytes { s in try buf.withUnsafeMutableBytes { p in
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .q4_k, to: p.baseAddress!, .f32, count: 128)) { e in
                XCTAssertTrue("\(e)".contains("multiple of 256"), "\(e)")
            }
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .q5_0, to: p.baseAddress!, .f32, count: 48))
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .f32, to: p.baseAddress!, .q4_k, count: 256))
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .q4_k, to: p.baseAddress!, .q8_0, count: 256))
        } }
        XCTAssertThrowsError(try BuiltinPlugins.registry().converter(from: .f32, to: .q6_k)) { e in
            XCTAssertTrue("\(e)".contains("f32→q6_k"), "\(e)")
        }
    }

    func testRegistered() throws {
        let r = BuiltinPlugins.registry()
        for q in [DType.q4_k, .q6_k, .q5_0] { XCTAssertEqual(try r.converter(from: q, to: .f32).name, "kquant") }
        XCTAssertTrue(try r.weightFormat(named: "gguf").capabilities.dtypes.isSuperset(of: [.q4_k, .q6_k, .q5_0]))
    }

    /// Reading the fixture and writing its tensors back gives the same bytes (the GGUF writer keeps k-quants as
    /// stored, as `omni convert --format gguf` does without --dtype).
    func testFixtureRoundTripsThroughTheWriterUnchanged() throws {
        let src = try GGUFSource(path: Self.fixture)
        let entries = try src.names.map { n -> TensorEntry in
            let t = try src.tensor(n)
            return TensorEntry(name: n, dtype: t.dtype, shape: t.shape) { t }
        }
        let dir = try temporaryDirectory("kquant-tests")
        let path = dir.appendingPathComponent("back.gguf").path
        try GGUFWriter().write(entries, to: path)
        let back = try GGUFSource(path: path)
        XCTAssertEqual(back.names, src.names)
        for n in src.names {
            let a = try src.tensor(n), b = try back.tensor(n)
            XCTAssertEqual(b.dtype, a.dtype, n)
            XCTAssertEqual(b.shape, a.shape, n)
            XCTAssertEqual(GGUFTests.bytes(b), GGUFTests.bytes(a), n)
        }
    }
}
