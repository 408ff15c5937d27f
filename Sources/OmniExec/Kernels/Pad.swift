import OmniCore

extension Kernels {
    /// out[c, i] = x[c, reflect(i − left)] where reflect mirrors about the first and last sample
    /// (x [C, L] contiguous f32, out [C, left + L + right], left, right < L).
    static func reflectPad(_ x: Tensor, left: Int, right: Int, out: Tensor) {
        let c = x.shape[0], n = x.shape[1], m = out.shape[1]
        let xp = x.floatPointer, yp = out.floatPointer
        for ch in 0..<c {
            let src = xp + ch * n, dst = yp + ch * m
            (dst + left).update(from: src, count: n)
            for i in 0..<left { dst[i] = src[left - i] }
            for i in 0..<right { dst[left + n + i] = src[n - 2 - i] }
        }
    }
}
