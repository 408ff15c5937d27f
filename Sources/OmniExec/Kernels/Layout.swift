import CBLAS
import CKernels
import OmniCore

extension Kernels {
    /// Softmax over the last axis: exp(x − max) / Σ, in f32.
    static func softmax(_ x: Tensor, out: Tensor) {
        let d = x.shape[-1], rows = x.elementCount / max(d, 1)
        let xp = x.floatPointer, yp = out.floatPointer
        for r in 0..<rows {
            let y = yp + r * d
            y.update(from: xp + r * d, count: d)
            let s = omni_exp_sub_sum(y, d, omni_max(y, d))
            omni_scale(y, 1 / s, d)
        }
    }

    /// out[i] = x[indices[i]] (x [T, D] contiguous f32).
    static func gatherRows(_ x: Tensor, _ indices: [Int], out: Tensor) {
        let d = x.shape[-1], xp = x.floatPointer, yp = out.floatPointer
        for (i, r) in indices.enumerated() { (yp + i * d).update(from: xp + r * d, count: d) }
    }

    /// out[r] = mean of x rows r·window ..< (r+1)·window (x [T, D] contiguous f32, out [T / window, D]).
    static func poolRows(_ x: Tensor, window: Int, out: Tensor) {
        let d = x.shape[-1], rows = out.shape[0]
        let xp = x.floatPointer, yp = out.floatPointer
        let scale = 1 / Float(window)
        for r in 0..<rows {
            let y = yp + r * d
            y.update(from: xp + r * window * d, count: d)
            for k in 1..<max(window, 1) { omni_axpy(y, xp + (r * window + k) * d, 1, d) }
            omni_scale(y, scale, d)
        }
    }

    /// Copies a (possibly strided) f32 view into the contiguous `out`.
    static func copy(_ x: Tensor, into out: Tensor) {
        x.withContiguousBytes { out.mutableRawPointer.copyMemory(from: $0, byteCount: x.byteCount) }
    }

    /// Concatenation along `axis`: for every outer index, the inputs' blocks one after another.
    static func concat(_ xs: [Tensor], axis: Int, out: Tensor) {
        let dims = out.shape.dims
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        var dst = out.floatPointer
        for o in 0..<outer {
            for x in xs {
                let n = x.shape[axis] * inner
                dst.update(from: x.floatPointer + o * n, count: n)
                dst += n
            }
        }
    }

    /// 1-D convolution as im2col + SGEMM per group: out[co, l] = Σ_{ci,k} W[co, ci, k] · x[ci, l·s − p + k·d] + b[co].
    static func conv1d(x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, dilation: Int,
                       groups: Int, out: Tensor) throws {
        let cin = x.shape[0], len = x.shape[1], cout = weight.shape[0], k = weight.shape[2], lOut = out.shape[1]
        let cg = cin / groups, og = cout / groups
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: cg * k * lOut)
        defer { cols.deallocate() }
        let xp = x.floatPointer, wp = weight.floatPointer, yp = out.floatPointer
        for g in 0..<groups {
            // cols[(ci, kk), l] = x[g·cg + ci, l·s − p + kk·d] (zero outside).
            for ci in 0..<cg {
                let src = xp + (g * cg + ci) * len
                for kk in 0..<k {
                    let row = cols + (ci * k + kk) * lOut
                    for l in 0..<lOut {
                        let pos = l * stride - padding + kk * dilation
                        row[l] = pos >= 0 && pos < len ? src[pos] : 0
                    }
                }
            }
            try convGEMM(rows: og) { r in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r.count), Int32(lOut), Int32(cg * k), 1,
                            wp + (g * og + r.lowerBound) * cg * k, Int32(cg * k), cols, Int32(lOut), 0,
                            yp + (g * og + r.lowerBound) * lOut, Int32(lOut))
            }
        }
        if let b = bias {
            let bp = b.floatPointer
            for co in 0..<cout { for l in 0..<lOut { yp[co * lOut + l] += bp[co] } }
        }
    }

    /// How convolutions spread their GEMMs over the cores (see `Executor.convolutionThreading`).
    nonisolated(unsafe) static var convolutionThreading = ConvolutionThreading.pool

    /// Runs a GEMM over `rows` output rows on every core: split into row blocks on the kernel pool (OpenBLAS
    /// single-threaded, as everywhere else), or in one call with OpenBLAS given the cores for its duration.
    static func convGEMM(rows: Int, _ gemm: (Range<Int>) -> Void) throws {
        switch convolutionThreading {
        case .pool:
            let parts = split(rows, parts: poolThreads, multiple: 8)
            try parallelFor(parts.count) { gemm(parts[$0]) }
        case .openBLAS:
            openblas_set_num_threads(Int32(poolThreads))
            defer { openblas_set_num_threads(1) }
            gemm(0..<rows)
        }
    }
}

/// How convolution GEMMs use the cores.
public enum ConvolutionThreading: String, Sendable, CaseIterable {
    /// Row blocks of the GEMM on the executor's thread pool, OpenBLAS on one thread (the default: faster here).
    case pool
    /// One GEMM call with OpenBLAS raised to the executor's threads around it.
    case openBLAS = "openblas"
}
