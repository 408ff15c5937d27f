import CKernels
import OmniCore

extension Kernels {
    /// Most rows the small-batch path takes (a batched decode step of that many sessions); more go to SGEMM.
    static let smallBatchRows = 16

    /// y[M, out] = x[M, in] · W[out, in]ᵀ for 2 ≤ M ≤ `smallBatchRows` with f32, bf16 or Q8_0 weights (Q8_0 in either
    /// layout; interleaved rows take matvec_q8r8.c's kernels, the same as their single-row decode): every weight
    /// row is read once for all M rows (a batched decode step shares one pass over the weights), and row r equals
    /// the single-row decode kernel's result bit for bit. Returns false (nothing written) for other shapes and
    /// dtypes. The bias is the caller's.
    static func linearSmallBatch(x: Tensor, weight w: Tensor, out: Tensor, threads: Int,
                                 scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws -> Bool {
        let m = x.shape[0], inF = x.shape[-1], outF = w.shape[0]
        guard m >= 2, m <= smallBatchRows, [.f32, .bf16, .q8_0].contains(w.dtype), w.dtype != .q8_0 || inF % 32 == 0 else {
            return false
        }
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let yp = out.floatPointer
        let wp = w.rawPointer
        let chunks = split(outF, parts: threads * 8, multiple: 16)
        switch w.dtype {
        case .f32:
            let wf = wp.assumingMemoryBound(to: Float.self)
            try parallelFor(chunks.count) { j in
                omni_matmul_small_f32(wf, xp, yp, inF, outF, m, chunks[j].lowerBound, chunks[j].upperBound)
            }
        case .bf16:
            let prepared = try scratch(0, m * inF)                                  // (M, in) f32, kernel layout
            for r in 0..<m { omni_bf16_prepare_x(xp + r * inF, prepared + r * inF, inF) }
            let wb = wp.assumingMemoryBound(to: UInt16.self)
            try parallelFor(chunks.count) { j in
                omni_matmul_small_bf16_prepared(wb, prepared, xp, yp, inF, outF, m, chunks[j].lowerBound, chunks[j].upperBound)
            }
        default:
            let rowBytes = inF / 32 * 34
            let q = UnsafeMutableRawPointer(try scratch(0, (m * rowBytes + 3) / 4))    // (M, in/32 × 34) Q8_0 blocks
                .assumingMemoryBound(to: UInt8.self)
            for r in 0..<m { omni_quantize_q8_0(xp + r * inF, q + r * rowBytes, inF) }
            let wq = wp.assumingMemoryBound(to: UInt8.self)
            let interleaved = w.layout == .q8_0Rows8
            try parallelFor(chunks.count) { j in
                if interleaved {
                    omni_matmul_small_q8_0_r8(wq, q, yp, inF, outF, m, chunks[j].lowerBound, chunks[j].upperBound)
                } else {
                    omni_matmul_small_q8_0(wq, q, yp, inF, outF, m, chunks[j].lowerBound, chunks[j].upperBound)
                }
            }
        }
        return true
    }
}
