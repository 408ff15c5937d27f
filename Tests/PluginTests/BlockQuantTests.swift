import BuiltinPlugins
import DTypeStandard
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Q8_0 / Q4_0 against a separate, plain transcription of ggml's reference formulas
/// (arrays instead of pointers, Swift's own `Float16` for the f16 scale).
final class BlockQuantTests: XCTestCase {
    let conv = BlockQuantConverter()

    // MARK: independent reference

    static func f16Bits(_ v: Float) -> UInt16 { Float16(v).bitPattern }
    static func f16Value(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    static func refQ8(_ x: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in stride(from: 0, to: x.count, by: 32) {
            let blk = Array(x[b..<b + 32])
            let amax = blk.map { abs($0) }.max() ?? 0
            let d = amax / 127
            let id: Float = d == 0 ? 0 : 1 / d
            let bits = f16Bits(d)
            out += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            for v in blk { out.append(UInt8(bitPattern: Int8(roundf(v * id)))) }
        }
        return out
    }

    static func refQ4(_ x: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in stride(from: 0, to: x.count, by: 32) {
            let blk = Array(x[b..<b + 32])
            var best: Float = 0
            for v in blk where abs(v) > abs(best) { best = v } // first value with the largest |x|
            let d = best / -8
            let id: Float = d == 0 ? 0 : 1 / d
            let bits = f16Bits(d)
            out += [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            func q(_ v: Float) -> UInt8 { UInt8(min(15, Int(Int8((v * id + 8.5).rounded(.towardZero))))) }
            for j in 0..<16 { out.append(q(blk[j]) | q(blk[j + 16]) << 4) }
        }
        return out
    }

    static func refDequant(_ q: [UInt8], _ dtype: DType) -> [Float] {
        var out: [Float] = []
        let bb = dtype.blockBytes
        for b in stride(from: 0, to: q.count, by: bb) {
            let d = f16Value(UInt16(q[b]) | UInt16(q[b + 1]) << 8)
            if dtype == .q8_0 {
                for j in 0..<32 { out.append(Float(Int8(bitPattern: q[b + 2 + j])) * d) }
            } else {
                var lo: [Float] = [], hi: [Float] = []
                for j in 0..<16 {
                    lo.append(Float(Int(q[b + 2 + j] & 15) - 8) * d)
                    hi.append(Float(Int(q[b + 2 + j] >> 4) - 8) * d)
                }
                out += lo + hi
            }
        }
        return out
    }

    // MARK: helpers

    func quantize(_ x: [Float], _ to: DType) throws -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: to.byteCount(elements: x.count) ?? 0)
        try x.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try conv.convert(s.baseAddress!, from: .f32, to: d.baseAddress!, to, count: x.count)
            }
        }
        return out
    }

    func dequantize(_ q: [UInt8], _ from: DType, count: Int) throws -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        try q.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try conv.convert(s.baseAddress!, from: from, to: d.baseAddress!, .f32, count: count)
            }
        }
        return out
    }

    /// Random blocks with varied scales plus edge blocks: all zero, ties at .5, a negative extreme,
    /// equal-magnitude extremes of both signs, one lone value, tiny (f16-subnormal) scales.
    func testData() -> [Float] {
        var g = SeededGenerator(seed: 7)
        var x: [Float] = []
        for b in 0..<64 {
            let scale = Float(Foundation.pow(10.0, Double(b % 8) - 4))
            for _ in 0..<32 { x.append(g.normal() * scale) }
        }
        x += [Float](repeating: 0, count: 32)
        // Ties for q8: amax 127 makes d = 1, so k + 0.5 lands exactly on a half.
        x += [127] + (0..<31).map { Float($0 - 15) + 0.5 }
        x += [-127] + (0..<31).map { Float($0 - 15) + 0.5 }
        // Ties for q4: max -8 makes d = 1, id = 1: x + 8.5 at integer + .5 boundaries.
        x += [-8] + (0..<31).map { Float($0 % 17 - 8) + 0.5 }
        x += [3, -3] + [Float](repeating: 1, count: 30)
        x += [-3, 3] + [Float](repeating: -1, count: 30)
        x += [Float](repeating: 0, count: 31) + [1e-3]
        x += (0..<32).map { Float($0) * 1e-7 }
        return x
    }

    // MARK: tests

    func testQ8MatchesReference() throws {
        let x = testData()
        let q = try quantize(x, .q8_0)
        XCTAssertEqual(q, Self.refQ8(x))
        XCTAssertEqual(try dequantize(q, .q8_0, count: x.count), Self.refDequant(q, .q8_0))
    }

    func testQ4MatchesReference() throws {
        let x = testData()
        let q = try quantize(x, .q4_0)
        XCTAssertEqual(q, Self.refQ4(x))
        XCTAssertEqual(try dequantize(q, .q4_0, count: x.count), Self.refDequant(q, .q4_0))
    }

    func testAllZeroBlockIsZeroScaleAndMidQuants() throws {
        let x = [Float](repeating: 0, count: 32)
        let q8 = try quantize(x, .q8_0)
        XCTAssertEqual(q8, [UInt8](repeating: 0, count: 34))
        let q4 = try quantize(x, .q4_0)
        XCTAssertEqual(Array(q4[0..<2]), [0x00, 0x80]) // d = 0 / -8 = -0.0, as ggml computes it
        XCTAssertEqual(Array(q4[2...]), [UInt8](repeating: 0x88, count: 16))
    }

    func testErrorIsWithinHalfAStep() throws {
        var g = SeededGenerator(seed: 11)
        let x = (0..<4096).map { _ in g.normal() * 0.02 }
        for dtype in [DType.q8_0, .q4_0] {
            let y = try dequantize(try quantize(x, dtype), dtype, count: x.count)
            for b in stride(from: 0, to: x.count, by: 32) {
                let amax = x[b..<b + 32].map { abs($0) }.max() ?? 0
                // Half a quantization step, plus what rounding the scale to f16 (2^-11 relative) adds
                // at the largest quant (127). Q4_0 clamps +8 to 7, so a value of the sign opposite to
                // the extreme one can be a whole step off.
                let step = dtype == .q8_0 ? amax / 127 : amax / 8
                let bound = dtype == .q8_0 ? step * (0.5 + 128.0 / 2048) : step * (1 + 8.0 / 2048)
                for j in b..<b + 32 { XCTAssertLessThanOrEqual(abs(x[j] - y[j]), bound + 1e-7, "\(dtype) \(j)") }
            }
        }
    }

    func testSixteenBitSourcesGoThroughF32() throws {
        var g = SeededGenerator(seed: 3)
        let n = 32 * 300 // more than one scratch slice
        let bits = (0..<n).map { _ in Scalar.floatToBF16(g.normal()) }
        let widened = bits.map(Scalar.bf16ToFloat)
        for dtype in [DType.q8_0, .q4_0] {
            var q = [UInt8](repeating: 0, count: dtype.byteCount(elements: n) ?? 0)
            try bits.withUnsafeBytes { s in
                try q.withUnsafeMutableBytes { d in
                    try conv.convert(s.baseAddress!, from: .bf16, to: d.baseAddress!, dtype, count: n)
                }
            }
            XCTAssertEqual(q, try quantize(widened, dtype))
            var back = [UInt16](repeating: 0, count: n)
            try q.withUnsafeBytes { s in
                try back.withUnsafeMutableBytes { d in
                    try conv.convert(s.baseAddress!, from: dtype, to: d.baseAddress!, .f16, count: n)
                }
            }
            XCTAssertEqual(back, Self.refDequant(q, dtype).map(Self.f16Bits))
        }
    }

    func testRejectsPartialBlockAndUnknownPair() throws {
        let src = [UInt8](repeating: 0, count: 256)
        var buf = [UInt8](repeating: 0, count: 256)
        try src.withUnsafeBytes { s in try buf.withUnsafeMutableBytes { p in
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .f32, to: p.baseAddress!, .q8_0, count: 33))
            XCTAssertThrowsError(try conv.convert(s.baseAddress!, from: .i8, to: p.baseAddress!, .q8_0, count: 32))
        } }
    }

    func testRegisteredAfterStandard() throws {
        let r = BuiltinPlugins.registry()
        XCTAssertEqual(try r.converter(from: .f32, to: .q4_0).name, "blockquant")
        XCTAssertEqual(try r.converter(from: .f32, to: .bf16).name, "standard")
    }
}
