import CBLAS
import CKernels
import OmniCore

extension Kernels {
    /// y[T, out] = x[T, in] · W[out, in]ᵀ (+ b). W may be f32, f16, bf16, Q8_0, Q4_0, Q5_0, Q4_K or Q6_K.
    ///
    /// Decode (T ≤ 2): matrix-vector kernels over row blocks, one per thread; weights are read once, in their
    /// stored dtype. Prefill (T > 2): `gemm` (LinearGEMM.swift).
    static func linear(x: Tensor, weight w: Tensor, bias: Tensor?, out: Tensor, threads: Int,
                       scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        let t = x.shape[0], inF = x.shape[-1], outF = w.shape[0]
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let yp = out.floatPointer
        let wp = w.rawPointer

        // The GEMM path writes the bias itself; the matvec and small-batch paths leave it to the end.
        var biasAdded = false
        if try linearSmallBatch(x: x, weight: w, out: out, threads: threads, scratch: scratch) {
            // 2 … 16 rows (a batched decode step): weights read once for all rows (LinearSmallBatch.swift).
        } else if t <= 2 {
            // Many more chunks than threads: concurrentPerform hands chunks out dynamically, so a thread that
            // is descheduled or slowed (another process, a busier memory channel) does less of the matrix
            // instead of the whole product waiting for its fixed half.
            let chunks = split(outF, parts: threads * 8, multiple: 16)
            // x is prepared once per row for all the row blocks: interleaved for bf16, quantized to Q8_0 for
            // Q8_0, Q4_0 and Q5_0 weights and to Q8_K for Q4_K and Q6_K (as llama.cpp quantizes activations for its
            // block dot products).
            let prepared: UnsafeMutableRawPointer? = switch w.dtype {
            case .bf16: UnsafeMutableRawPointer(try scratch(0, inF))
            case .q8_0: UnsafeMutableRawPointer(try scratch(0, (inF / 32 * 34 + 3) / 4))
            case .q4_0: UnsafeMutableRawPointer(try scratch(0, (omni_q4_0_prepared_bytes(inF) + 3) / 4))
            case .q5_0: UnsafeMutableRawPointer(try scratch(0, (omni_q5_0_prepared_bytes(inF) + 3) / 4))
            case .q4_k, .q6_k: UnsafeMutableRawPointer(try scratch(0, (omni_q8_k_bytes(inF) + 3) / 4))
            default: nil
            }
            for row in 0..<t {
                let xr = xp + row * inF, yr = yp + row * outF
                if let prepared, w.dtype == .bf16 {
                    omni_bf16_prepare_x(xr, prepared.assumingMemoryBound(to: Float.self), inF)
                } else if let prepared, w.dtype == .q8_0 {
                    omni_quantize_q8_0(xr, prepared.assumingMemoryBound(to: UInt8.self), inF)
                } else if let prepared, w.dtype == .q4_0 {
                    omni_q4_0_prepare_x(xr, prepared.assumingMemoryBound(to: UInt8.self), inF)
                } else if let prepared, w.dtype == .q5_0 {
                    omni_q5_0_prepare_x(xr, prepared.assumingMemoryBound(to: UInt8.self), inF)
                } else if let prepared, w.dtype == .q4_k || w.dtype == .q6_k {
                    omni_quantize_q8_k(xr, prepared.assumingMemoryBound(to: UInt8.self), inF)
                }
                try parallelFor(chunks.count) { j in
                    let r = chunks[j]
                    switch w.dtype {
                    case .f32: omni_matvec_f32(wp.assumingMemoryBound(to: Float.self), xr, yr, inF, r.lowerBound, r.upperBound)
                    case .bf16:
                        omni_matvec_bf16_prepared(wp.assumingMemoryBound(to: UInt16.self), prepared!.assumingMemoryBound(to: Float.self),
                                                  xr, yr, inF, r.lowerBound, r.upperBound)
                    case .f16: omni_matvec_f16(wp.assumingMemoryBound(to: UInt16.self), xr, yr, inF, r.lowerBound, r.upperBound)
                    case .q8_0:
                        omni_matvec_q8_0(wp.assumingMemoryBound(to: UInt8.self), xr, prepared!.assumingMemoryBound(to: UInt8.self),
                                         yr, inF, r.lowerBound, r.upperBound)
                    case .q4_0:
                        omni_matvec_q4_0(wp.assumingMemoryBound(to: UInt8.self), xr, prepared!.assumingMemoryBound(to: UInt8.self),
                                         yr, inF, r.lowerBound, r.upperBound)
                    case .q5_0:
                        omni_matvec_q5_0(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                         yr, inF, r.lowerBound, r.upperBound)
                    case .q4_k:
                        omni_matvec_q4_k(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                         yr, inF, r.lowerBound, r.upperBound)
                    case .q6_k:
                        omni_matvec_q6_k(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                         yr, inF, r.lowerBound, r.upperBound)
                    default: throw OmniError.dtypeMismatch(key: "linear weight", expected: "f32/f16/bf16/q8_0/q4_0/q5_0/q4_k/q6_k",
                                                           actual: w.dtype)
                    }
                }
            }
        } else {
            try gemm(x: xp, rows: t, inF: inF, weight: w, bias: bias?.floatPointer, y: yp, outF: outF, threads: threads,
                     scratch: scratch)
            biasAdded = true
        }
        if !biasAdded, let b = bias {
            let bp = b.floatPointer
            for row in 0..<t {
                let yr = yp + row * outF
                for o in 0..<outF { yr[o] += bp[o] }
            }
        }
    }
}
