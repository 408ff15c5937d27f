import Foundation

/// Power spectrum |X_k|², k = 0 … n/2, of real frames of a fixed length n, by a mixed-radix (4, 2, 3, 5, then
/// any prime) Cooley–Tukey FFT in Float64. Made once per length; `power` is reentrant for one caller at a time.
final class RealFFT {
    let n: Int
    private let factors: [Int]
    private let cosTable: [Double], sinTable: [Double]   // e^{-2πi j/n} = cos − i·sin, j in 0..<n
    private var re: [Double], im: [Double], tre: [Double], tim: [Double]

    init(length n: Int) {
        precondition(n >= 1, "FFT length \(n)")
        self.n = n
        var f: [Int] = [], m = n
        for p in [4, 2, 3, 5] { while m % p == 0 { f.append(p); m /= p } }
        var p = 7
        while m > 1 { while m % p == 0 { f.append(p); m /= p }; p += 2 }
        factors = f
        cosTable = (0..<n).map { cos(2 * Double.pi * Double($0) / Double(n)) }
        sinTable = (0..<n).map { sin(2 * Double.pi * Double($0) / Double(n)) }
        re = Array(repeating: 0, count: n); im = re; tre = re; tim = re
    }

    /// Writes |X_k|² for k = 0 … n/2 of `frame` (n real samples) into `out` (n/2 + 1 values).
    func power(_ frame: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>) {
        for i in 0..<n { re[i] = frame[i]; im[i] = 0 }
        transform(offset: 0, stride: 1, count: n, factorIndex: 0, outOffset: 0)
        for k in 0...(n / 2) { out[k] = tre[k] * tre[k] + tim[k] * tim[k] }
    }

    /// DFT of the `count` inputs re/im[offset + j·stride] into tre/tim[outOffset ..< outOffset + count].
    private func transform(offset: Int, stride: Int, count: Int, factorIndex: Int, outOffset: Int) {
        if count == 1 {
            tre[outOffset] = re[offset]; tim[outOffset] = im[offset]
            return
        }
        let p = factors[factorIndex], m = count / p
        // p sub-transforms of the decimated inputs, each into its own block of m outputs.
        for r in 0..<p {
            transform(offset: offset + r * stride, stride: stride * p, count: m, factorIndex: factorIndex + 1,
                      outOffset: outOffset + r * m)
        }
        // Combine: X[k + m·q] = Σ_r W_count^{r(k + m·q)} · Y_r[k].
        let step = n / count
        var sr = [Double](repeating: 0, count: p), si = sr
        for k in 0..<m {
            for r in 0..<p { sr[r] = tre[outOffset + r * m + k]; si[r] = tim[outOffset + r * m + k] }
            for q in 0..<p {
                let kk = k + m * q
                var accR = 0.0, accI = 0.0
                for r in 0..<p {
                    let t = (r * kk * step) % n
                    let c = cosTable[t], s = sinTable[t]
                    accR += sr[r] * c + si[r] * s
                    accI += si[r] * c - sr[r] * s
                }
                tre[outOffset + kk] = accR; tim[outOffset + kk] = accI
            }
        }
    }
}
