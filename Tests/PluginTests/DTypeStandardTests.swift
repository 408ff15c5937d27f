import CKernels
import DTypeStandard
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Exhaustive and boundary tests of f32 ↔ f16 ↔ bf16 against an independent scalar formula,
/// run on every CPU path this machine has (portable, avx2, avx512).
final class DTypeStandardTests: XCTestCase {
    let conv = StandardConverter()

    /// Paths to check: portable always, then whatever the CPU adds.
    var paths: [(String, Int32)] {
        var p: [(String, Int32)] = [("portable", 0)]
        omni_cpu_override(-1)
        let f = omni_cpu_features()
        if f & Int32(OMNI_CPU_AVX2) != 0 { p.append(("avx2", Int32(OMNI_CPU_AVX2))) }
        if f & Int32(OMNI_CPU_AVX512) != 0 { p.append(("avx512", -1)) }
        return p
    }

    override func tearDown() { omni_cpu_override(-1) }

    /// Independent decode: sign · 2^(e − bias) · (1.m), subnormals 2^(1 − bias) · (0.m).
    static func decode(_ bits: UInt16, expBits: Int, mantBits: Int) -> Float {
        let sign: Float = (bits >> 15) & 1 == 1 ? -1 : 1
        let e = Int(bits >> UInt16(mantBits)) & ((1 << expBits) - 1)
        let m = Int(bits) & ((1 << mantBits) - 1)
        let bias = (1 << (expBits - 1)) - 1
        if e == (1 << expBits) - 1 { return m == 0 ? sign * .infinity : .nan }
        let frac = Double(m) / Double(1 << mantBits)
        let v = e == 0 ? Foundation.pow(2.0, Double(1 - bias)) * frac : Foundation.pow(2.0, Double(e - bias)) * (1 + frac)
        return sign * Float(v)
    }

    func convert(_ bits: [UInt16], from: DType) throws -> [Float] {
        var out = [Float](repeating: 0, count: bits.count)
        try bits.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try conv.convert(s.baseAddress!, from: from, to: d.baseAddress!, .f32, count: bits.count)
            }
        }
        return out
    }

    func narrow(_ values: [Float], to: DType) throws -> [UInt16] {
        var out = [UInt16](repeating: 0, count: values.count)
        try values.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try conv.convert(s.baseAddress!, from: .f32, to: d.baseAddress!, to, count: values.count)
            }
        }
        return out
    }

    func testEvery16BitPatternRoundTrips() throws {
        let all = (0...0xFFFF).map { UInt16($0) }
        for (path, mask) in paths {
            omni_cpu_override(mask)
            for (dtype, eb, mb, quiet) in [(DType.bf16, 8, 7, UInt16(0x40)), (.f16, 5, 10, UInt16(0x200))] {
                let wide = try convert(all, from: dtype)
                for (b, f) in zip(all, wide) {
                    let expected = Self.decode(b, expBits: eb, mantBits: mb)
                    if expected.isNaN {
                        XCTAssertTrue(f.isNaN, "\(path) \(dtype) \(b) → \(f)")
                        XCTAssertEqual(f.sign, (b >> 15) == 1 ? .minus : .plus, "\(path) NaN sign \(b)")
                    } else {
                        XCTAssertEqual(f.bitPattern, expected.bitPattern, "\(path) \(dtype) bits \(b)")
                    }
                }
                let back = try narrow(wide, to: dtype)
                for (b, r) in zip(all, back) {
                    let isNaN = Self.decode(b, expBits: eb, mantBits: mb).isNaN
                    // A signalling NaN comes back quiet (IEEE); everything else is the identity.
                    XCTAssertEqual(r, isNaN ? b | quiet : b, "\(path) \(dtype) round trip \(b)")
                }
            }
        }
    }

    func testF32ToBF16Boundaries() throws {
        let cases: [(UInt32, UInt16, String)] = [
            (0x3F80_8000, 0x3F80, "tie rounds to even (down)"),
            (0x3F81_8000, 0x3F82, "tie rounds to even (up)"),
            (0x3F80_8001, 0x3F81, "just above tie"),
            (0x3F80_7FFF, 0x3F80, "just below tie"),
            (0x7F7F_FFFF, 0x7F80, "max float overflows to +inf"),
            (0xFF7F_FFFF, 0xFF80, "overflows to -inf"),
            (0x7F7F_7FFF, 0x7F7F, "largest that stays finite"),
            (0x7F80_0000, 0x7F80, "+inf"),
            (0x7F80_0001, 0x7FC0, "NaN with low payload stays NaN, not inf"),
            (0xFFC1_2345, 0xFFC1, "negative quiet NaN keeps sign and top payload"),
            (0x8000_0000, 0x8000, "-0"),
            (0x0000_8000, 0x0000, "subnormal tie to even zero"),
            (0x0001_8000, 0x0002, "subnormal tie to even up"),
            (0x0000_0001, 0x0000, "tiny subnormal"),
        ]
        for (path, mask) in paths {
            omni_cpu_override(mask)
            // Pad to 37 values so vector bodies and scalar tails both see every case.
            for offset in [0, 20] {
                var input = [Float](repeating: 1, count: 37)
                for (i, c) in cases.enumerated() { input[(i + offset) % 37] = Float(bitPattern: c.0) }
                let out = try narrow(input, to: .bf16)
                for (i, c) in cases.enumerated() {
                    XCTAssertEqual(out[(i + offset) % 37], c.1, "\(path): \(c.2)")
                }
            }
        }
    }

    func testF32ToF16MatchesSwiftFloat16OnRandomAndEdgeValues() throws {
        var rng = SeededGenerator(seed: 7)
        var values: [Float] = (0..<100_003).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
        values += [65504, 65519.99, 65520, -65520, 5.96e-8, 2.98e-8, 2.99e-8, 6.1e-5, 0, -0, .infinity, -.infinity]
        for (path, mask) in paths {
            omni_cpu_override(mask)
            let out = try narrow(values, to: .f16)
            for (v, h) in zip(values, out) {
                let ref = Float16(v)
                if ref.isNaN { XCTAssertTrue(Float(Float16(bitPattern: h)).isNaN, "\(path) \(v)") }
                else { XCTAssertEqual(h, ref.bitPattern, "\(path) \(v) (\(v.bitPattern))") }
            }
        }
    }

    func testF16BF16CrossConversionIsExactThroughF32() throws {
        let all = (0...0xFFFF).map { UInt16($0) }
        var out = [UInt16](repeating: 0, count: all.count)
        try all.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try conv.convert(s.baseAddress!, from: .f16, to: d.baseAddress!, .bf16, count: all.count)
            }
        }
        for (h, b) in zip(all, out) {
            let ref = Scalar.floatToBF16(Scalar.f16ToFloat(h))
            XCTAssertEqual(b, ref, "f16 \(h)")
        }
    }

    func testRefusesUnsupportedPair() {
        XCTAssertThrowsError(try conv.convert(UnsafeRawPointer(bitPattern: 64)!, from: .i64,
                                              to: UnsafeMutableRawPointer(bitPattern: 64)!, .f32, count: 0))
    }
}
