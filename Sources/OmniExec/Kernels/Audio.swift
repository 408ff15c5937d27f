import CBLAS
import CKernels
import Foundation
import OmniCore

extension Kernels {
    /// out[co, i·s + k − p] += Σ_ci x[ci, i] · W[ci, co, k], + bias[co]: one SGEMM (xᵀ · W as [Cin, Cout·K]) then
    /// col2im. x [Cin, L], W [Cin, Cout, K] f32 contiguous.
    static func convTranspose1d(x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, out: Tensor) throws {
        let cin = x.shape[0], len = x.shape[1], cout = weight.shape[1], k = weight.shape[2], lOut = out.shape[1]
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: len * cout * k)
        defer { cols.deallocate() }
        let xp = x.floatPointer, wp = weight.floatPointer
        try convGEMM(rows: len) { r in   // rows of xᵀ are columns of x
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(r.count), Int32(cout * k), Int32(cin), 1,
                        xp + r.lowerBound, Int32(len), wp, Int32(cout * k), 0, cols + r.lowerBound * cout * k, Int32(cout * k))
        }
        let yp = out.floatPointer
        let channelBlocks = split(cout, parts: poolThreads)
        try parallelFor(channelBlocks.count) { part in for co in channelBlocks[part] {
            let row = yp + co * lOut
            let b = bias.map { $0.floatPointer[co] } ?? 0
            for l in 0..<lOut { row[l] = b }
            for i in 0..<len {
                let src = cols + i * cout * k + co * k
                for kk in 0..<k {
                    let pos = i * stride + kk - padding
                    if pos >= 0 && pos < lOut { row[pos] += src[kk] }
                }
            }
        } }
    }

    /// out = x · factor.
    static func scale(_ x: Tensor, _ factor: Float, out: Tensor) {
        out.floatPointer.update(from: x.floatPointer, count: out.elementCount)
        omni_scale(out.floatPointer, factor, out.elementCount)
    }
}
