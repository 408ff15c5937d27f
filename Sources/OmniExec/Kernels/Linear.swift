import CBLAS
import CKernels
import OmniCore

extension Kernels {
    /// y[T, out] = x[T, in] · W[out, in]ᵀ (+ b). W may be f32, f16, bf16, Q8_0, Q4_0, Q5_0, Q4_K or Q6_K.
    ///
    /// Batched decode (2 … 16 rows): `linearSmallBatch`. Decode (T ≤ 2): `linearDecode`, matrix-vector kernels over
    /// row blocks; weights are read once, in their stored dtype. Prefill (T > 2): `gemm` (LinearGEMM.swift), in bf16
    /// compute for bf16 weights when `bf16Compute` and the CPU has AMX-BF16.
    static func linear(x: Tensor, weight w: Tensor, bias: Tensor?, out: Tensor, threads: Int, bf16Compute: Bool = false,
                       scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        let t = x.shape[0], inF = x.shape[-1], outF = w.shape[0]
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let yp = out.floatPointer

        // Every path writes the bias itself.
        if try linearSmallBatch(x: x, weight: w, bias: bias, out: out, threads: threads, scratch: scratch) {
            // 2 … 16 rows (a batched decode step): weights read once for all rows (LinearSmallBatch.swift).
        } else if t <= 2 {
            // Matrix-vector kernels over row blocks (LinearDecode.swift).
            try linearDecode(x: x, products: [DecodeProduct(weight: w, bias: bias, out: out)], threads: threads, scratch: scratch)
        } else {
            try gemm(x: xp, rows: t, inF: inF, weight: w, bias: bias?.floatPointer, y: yp, outF: outF, threads: threads,
                     bf16Compute: bf16Compute, scratch: scratch)
        }
    }
}
