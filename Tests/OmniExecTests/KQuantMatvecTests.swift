import CKernels
import XCTest

/// The Q4_K, Q6_K and Q5_0 decode kernels (CKernels/kquants.c) on every CPU path this machine has, against
/// Σ w·x̂ in Float64, where w is the reference dequantization of the weight blocks and x̂ = d_x·q_x the quantized x
/// the kernel was given (Q8_K for the k-quants, Q8_0 for Q5_0): the integer dot products must be exact, so the
/// only difference left is float rounding (bound 1e-5 of Σ|w·x̂|).
final class KQuantMatvecTests: XCTestCase {
    private let paths: [Int32] = [-1, Int32(OMNI_CPU_AVX2), 0]

    private func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(s >> 40) / Float(1 << 23) - 1
        }
    }

    /// Random blocks whose f16 scales (at `scaleOffsets` in each block) are normal values in ±[2^-8, 2^-5).
    private func blocks(_ count: Int, bytes: Int, scaleOffsets: [Int], seed: UInt64) -> [UInt8] {
        var w = random(count * bytes, seed: seed).map { UInt8(truncatingIfNeeded: Int(($0 + 1) * 128)) }
        for b in 0..<count {
            for (k, off) in scaleOffsets.enumerated() {
                let h = Float16(Float(w[b * bytes + 7] % 64 + 64) / 8192 * ((b + k) % 3 == 0 ? -1 : 1)).bitPattern
                w[b * bytes + off] = UInt8(h & 0xff); w[b * bytes + off + 1] = UInt8(h >> 8)
            }
        }
        return w
    }

    private func check(_ name: String, rows: Int, inF: Int, w: [UInt8], xq: [UInt8], xhat: [Double],
                       dequantize: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>, Int) -> Void,
                       matvec: (UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafeMutablePointer<Float>, Int, Int, Int) -> Void) {
        var wf = [Float](repeating: 0, count: rows * inF)
        dequantize(w, &wf, rows * inF)
        for path in paths {
            omni_cpu_override(path)
            defer { omni_cpu_override(-1) }
            var y = [Float](repeating: .nan, count: rows)
            // Two calls over row ranges, as the executor splits a product across threads.
            matvec(w, xq, &y, inF, 0, rows / 2)
            matvec(w, xq, &y, inF, rows / 2, rows)
            for o in 0..<rows {
                var ref = 0.0, mag = 0.0
                for i in 0..<inF { let t = Double(wf[o * inF + i]) * xhat[i]; ref += t; mag += abs(t) }
                XCTAssertEqual(Double(y[o]), ref, accuracy: 1e-5 * mag + 1e-9, "\(name) path \(path) rows \(rows) in \(inF) row \(o)")
            }
        }
    }

    /// x quantized to Q8_K: per 256 values d = max/−127 of the signed value of largest magnitude, |q| ≤ 127, the
    /// 16-value sums stored, and every value within half a step.
    private func q8k(_ x: [Float]) -> ([UInt8], [Double]) {
        var xq = [UInt8](repeating: 0, count: omni_q8_k_bytes(x.count))
        omni_quantize_q8_k(x, &xq, x.count)
        var xhat = [Double]()
        for b in 0..<(x.count / 256) {
            let base = b * 292
            let d = xq.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: base, as: Float.self) }
            let q = (0..<256).map { Int(Int8(bitPattern: xq[base + 4 + $0])) }
            for g in 0..<16 {
                let s = xq.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: base + 260 + 2 * g, as: Int16.self) }
                XCTAssertEqual(Int(s), q[(16 * g)..<(16 * g + 16)].reduce(0, +), "bsum \(g) of block \(b)")
            }
            for j in 0..<256 {
                XCTAssertLessThanOrEqual(abs(q[j]), 127)
                XCTAssertLessThanOrEqual(abs(Double(d) * Double(q[j]) - Double(x[b * 256 + j])), abs(Double(d)) * 0.5001, "x[\(j)]")
                xhat.append(Double(d) * Double(q[j]))
            }
        }
        return (xq, xhat)
    }

    func testQ4KAndQ6KMatchTheDequantizedProduct() {
        for (rows, inF) in [(1, 256), (5, 512), (7, 4864)] {
            let (xq, xhat) = q8k(random(inF, seed: 3))
            let nb = rows * inF / 256
            check("q4_k", rows: rows, inF: inF, w: blocks(nb, bytes: 144, scaleOffsets: [0, 2], seed: 4), xq: xq, xhat: xhat,
                  dequantize: { omni_dequantize_q4_k($0, $1, $2) }, matvec: { omni_matvec_q4_k($0, $1, $2, $3, $4, $5) })
            check("q6_k", rows: rows, inF: inF, w: blocks(nb, bytes: 210, scaleOffsets: [208], seed: 5), xq: xq, xhat: xhat,
                  dequantize: { omni_dequantize_q6_k($0, $1, $2) }, matvec: { omni_matvec_q6_k($0, $1, $2, $3, $4, $5) })
        }
    }

    func testQ5_0MatchesTheDequantizedProduct() {
        for (rows, inF) in [(1, 32), (3, 96), (5, 896), (2, 4864)] {
            let x = random(inF, seed: 6)
            var xp = [UInt8](repeating: 0, count: omni_q5_0_prepared_bytes(inF))
            omni_q5_0_prepare_x(x, &xp, inF)
            // The prepared bytes start with x's Q8_0 blocks, as omni_quantize_q8_0 writes them.
            var q8 = [UInt8](repeating: 0, count: inF / 32 * 34)
            omni_quantize_q8_0(x, &q8, inF)
            XCTAssertEqual(Array(xp[0..<q8.count]), q8)
            var xhat = [Double]()
            for b in 0..<(inF / 32) {
                let d = Double(Float16(bitPattern: UInt16(q8[b * 34]) | UInt16(q8[b * 34 + 1]) << 8))
                for j in 0..<32 { xhat.append(d * Double(Int8(bitPattern: q8[b * 34 + 2 + j]))) }
            }
            check("q5_0", rows: rows, inF: inF, w: blocks(rows * inF / 32, bytes: 22, scaleOffsets: [0], seed: 7), xq: xp,
                  xhat: xhat, dequantize: { omni_dequantize_q5_0($0, $1, $2) },
                  matvec: { omni_matvec_q5_0($0, $1, $2, $3, $4, $5) })
        }
    }
}
