import CKernels
import XCTest

/// The decode matrix-vector kernels against a Float64 reference, on the widest path this CPU has, on AVX2 and
/// on the portable path, for row counts and widths that hit every tail (in % 32, in % 16).
final class MatvecTests: XCTestCase {
    /// Feature masks: everything this CPU has (AVX512-BF16 / VNNI where present), AVX2 only, portable.
    private let paths: [Int32] = [-1, Int32(OMNI_CPU_AVX2), 0]

    private func bf16(_ f: Float) -> UInt16 { UInt16(truncatingIfNeeded: f.bitPattern >> 16) }
    private func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    private func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(s >> 40) / Float(1 << 23) - 1
        }
    }

    /// omni_dot_rows and omni_axpy_rows (one query row's attention scores and weighted sum of value rows) give the
    /// values of omni_dot and omni_axpy called row by row, bit for bit, on every path and width tail.
    func testDotRowsAndAxpyRowsEqualTheOneRowCalls() {
        for path in paths {
            omni_cpu_override(path)
            defer { omni_cpu_override(-1) }
            for (rows, n, stride) in [(1, 64, 64), (32, 64, 128), (7, 37, 40), (5, 8, 8), (9, 100, 130), (3, 3, 5)] {
                let q = random(n, seed: 3), k = random(rows * stride, seed: 4), v = random(rows * stride, seed: 5)
                var scores = [Float](repeating: .nan, count: rows)
                omni_dot_rows(q, k, stride, rows, n, 0.125, &scores)
                for j in 0..<rows {
                    let one = k.withUnsafeBufferPointer { 0.125 * omni_dot(q, $0.baseAddress! + j * stride, n) }
                    XCTAssertEqual(scores[j].bitPattern, one.bitPattern, "path \(path) rows \(rows) n \(n) row \(j)")
                }
                var w = random(rows, seed: 6)
                if rows > 2 { w[1] = 0 }                                   // a zero weight is skipped, as before
                let start = random(n, seed: 7)
                var fused = start, byRow = start
                omni_axpy_rows(&fused, v, stride, w, rows, n)
                for j in 0..<rows where w[j] != 0 {
                    v.withUnsafeBufferPointer { omni_axpy(&byRow, $0.baseAddress! + j * stride, w[j], n) }
                }
                XCTAssertEqual(fused.map(\.bitPattern), byRow.map(\.bitPattern), "path \(path) rows \(rows) n \(n)")
            }
        }
    }

    func testBF16MatchesReference() {
        for path in paths {
            omni_cpu_override(path)
            defer { omni_cpu_override(-1) }
            for (rows, inF) in [(1, 16), (5, 37), (3, 48), (2, 80), (9, 896), (16, 100), (7, 4864)] {
                let w = random(rows * inF, seed: 1).map(bf16)
                let x = random(inF, seed: 2)
                var y = [Float](repeating: .nan, count: rows)
                omni_matvec_bf16(w, x, &y, inF, 0, rows)
                for o in 0..<rows {
                    var ref = 0.0, mag = 0.0
                    for i in 0..<inF {
                        ref += Double(float(w[o * inF + i])) * Double(x[i])
                        mag += abs(Double(float(w[o * inF + i])) * Double(x[i]))
                    }
                    XCTAssertEqual(Double(y[o]), ref, accuracy: 1e-5 * mag + 1e-6, "path \(path) rows \(rows) in \(inF) row \(o)")
                }
            }
        }
    }

    func testBF16RowRangeWritesOnlyItsRows() {
        let rows = 11, inF = 48
        let w = random(rows * inF, seed: 3).map(bf16)
        let x = random(inF, seed: 4)
        var y = [Float](repeating: 42, count: rows)
        omni_matvec_bf16(w, x, &y, inF, 3, 9)
        for o in 0..<rows where o < 3 || o >= 9 { XCTAssertEqual(y[o], 42) }
        for o in 3..<9 { XCTAssertNotEqual(y[o], 42) }
    }

    /// Q8_0 × Q8_0 against the exact block sum Σ_b d_w·d_x·Σ q_w·q_x in Float64, with odd block counts.
    func testQ8TimesQ8MatchesExactBlockSum() {
        for path in paths {
            omni_cpu_override(path)
            defer { omni_cpu_override(-1) }
            for (rows, inF) in [(1, 32), (3, 96), (5, 896), (2, 4864)] {
                var w = [UInt8](repeating: 0, count: rows * inF / 32 * 34)
                omni_quantize_q8_0(random(rows * inF, seed: 5), &w, rows * inF)
                let x = random(inF, seed: 6)
                var xq = [UInt8](repeating: 0, count: inF / 32 * 34)
                omni_quantize_q8_0(x, &xq, inF)
                var y = [Float](repeating: .nan, count: rows)
                omni_matvec_q8_0(w, x, xq, &y, inF, 0, rows)
                for o in 0..<rows {
                    var ref = 0.0, mag = 0.0
                    for b in 0..<(inF / 32) {
                        let wb = (o * inF / 32 + b) * 34, xb = b * 34
                        let d = Double(half(w[wb], w[wb + 1])) * Double(half(xq[xb], xq[xb + 1]))
                        var s = 0
                        for j in 0..<32 { s += Int(Int8(bitPattern: w[wb + 2 + j])) * Int(Int8(bitPattern: xq[xb + 2 + j])) }
                        ref += d * Double(s); mag += abs(d * Double(s))
                    }
                    XCTAssertEqual(Double(y[o]), ref, accuracy: 1e-6 * mag + 1e-9, "path \(path) rows \(rows) in \(inF) row \(o)")
                }
            }
        }
    }

    /// Q4_0 × Q8_0 (x prepared by omni_q4_0_prepare_x, whose first bytes are x's Q8_0 blocks) against the exact block sum Σ_b d_w·d_x·Σ (nibble − 8)·q_x in Float64, and Q4_0 × f32 x
    /// against Σ_b d_w·Σ (nibble − 8)·x, on random blocks (every nibble value, scales of both signs).
    func testQ4MatchesExactBlockSum() {
        for path in paths {
            omni_cpu_override(path)
            defer { omni_cpu_override(-1) }
            for (rows, inF) in [(1, 32), (3, 96), (5, 896), (2, 4864)] {
                let bits = random(rows * inF / 32 * 18, seed: 7)
                var w = bits.map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 128)) }
                for b in 0..<(rows * inF / 32) {   // scale: a normal f16 in ±[2^-8, 2^-5)
                    let h = Float16(Float(w[b * 18 + 2] % 64 + 64) / 8192 * (b % 3 == 0 ? -1 : 1)).bitPattern
                    w[b * 18] = UInt8(h & 0xff); w[b * 18 + 1] = UInt8(h >> 8)
                }
                let x = random(inF, seed: 8)
                var xq = [UInt8](repeating: 0, count: omni_q4_0_prepared_bytes(inF))
                omni_q4_0_prepare_x(x, &xq, inF)
                var yq = [Float](repeating: .nan, count: rows), yf = yq
                omni_matvec_q4_0(w, x, xq, &yq, inF, 0, rows)
                omni_matvec_q4_0(w, x, nil, &yf, inF, 0, rows)
                for o in 0..<rows {
                    var refQ = 0.0, magQ = 0.0, refF = 0.0, magF = 0.0
                    for b in 0..<(inF / 32) {
                        let wb = (o * inF / 32 + b) * 18, xb = b * 34
                        let dw = Double(half(w[wb], w[wb + 1])), dx = Double(half(xq[xb], xq[xb + 1]))
                        var s = 0, f = 0.0
                        for j in 0..<32 {
                            let byte = w[wb + 2 + j % 16]
                            let q = Int(j < 16 ? byte & 0x0f : byte >> 4) - 8
                            s += q * Int(Int8(bitPattern: xq[xb + 2 + j]))
                            f += Double(q) * Double(x[b * 32 + j])
                        }
                        refQ += dw * dx * Double(s); magQ += abs(dw * dx * Double(s))
                        refF += dw * f; magF += abs(dw * f)
                    }
                    XCTAssertEqual(Double(yq[o]), refQ, accuracy: 1e-6 * magQ + 1e-9, "q8 x, path \(path) rows \(rows) in \(inF) row \(o)")
                    XCTAssertEqual(Double(yf[o]), refF, accuracy: 1e-5 * magF + 1e-9, "f32 x, path \(path) rows \(rows) in \(inF) row \(o)")
                }
            }
        }
    }

    /// The AVX2 quantizer against the portable one, bit for bit: random blocks, an all-zero block and blocks
    /// whose scaled values fall exactly on halves (roundf rounds those away from zero).
    func testQuantizeQ8PathsAgreeBitForBit() {
        var x = random(32 * 64, seed: 9).enumerated().map { $0.offset % 7 == 0 ? $0.element * 100 : $0.element }
        for j in 0..<32 { x[j] = j == 0 ? 127 : Float(j - 16) + 0.5 }
        for j in 32..<64 { x[j] = 0 }
        for j in 64..<96 { x[j] = j == 64 ? -127 : -Float(j - 64) * 0.5 }
        var want = [UInt8](repeating: 0, count: x.count / 32 * 34)
        omni_cpu_override(0)
        omni_quantize_q8_0(x, &want, x.count)
        for path in paths {
            omni_cpu_override(path)
            var got = [UInt8](repeating: 0xAA, count: want.count)
            omni_quantize_q8_0(x, &got, x.count)
            XCTAssertEqual(got, want, "path \(path)")
        }
        omni_cpu_override(-1)
    }

    private func half(_ lo: UInt8, _ hi: UInt8) -> Float { Float(Float16(bitPattern: UInt16(lo) | UInt16(hi) << 8)) }
}
