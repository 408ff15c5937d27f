import CBLAS
import CKernels
import OmniCore

extension Kernels {
    /// y[T, out] = x[T, in] · W[out, in]ᵀ (+ b). W may be f32, f16, bf16, Q8_0 or Q4_0.
    ///
    /// Decode (T ≤ 2): matrix-vector kernels over row blocks, one per thread; weights are read once, in their
    /// stored dtype. Prefill: f32 weights go straight to SGEMM; others are widened panel by panel (64 rows) into
    /// per-thread f32 scratch and multiplied with SGEMM, so the conversion costs O(out·in) against O(T·out·in).
    static func linear(x: Tensor, weight w: Tensor, bias: Tensor?, out: Tensor, threads: Int,
                       scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        let t = x.shape[0], inF = x.shape[-1], outF = w.shape[0]
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let yp = out.floatPointer
        let wp = w.rawPointer
        let ranges = split(outF, parts: threads, multiple: 16)

        if try linearSmallBatch(x: x, weight: w, out: out, threads: threads, scratch: scratch) {
            // 2 … 16 rows (a batched decode step): weights read once for all rows (LinearSmallBatch.swift).
        } else if t <= 2 {
            // Many more chunks than threads: concurrentPerform hands chunks out dynamically, so a thread that
            // is descheduled or slowed (another process, a busier memory channel) does less of the matrix
            // instead of the whole product waiting for its fixed half.
            let chunks = split(outF, parts: threads * 8, multiple: 16)
            // x is prepared once per row for all the row blocks: interleaved for bf16, quantized for Q8_0
            // (as llama.cpp quantizes activations for its Q8_0 dot products).
            let prepared: UnsafeMutableRawPointer? = switch w.dtype {
            case .bf16: UnsafeMutableRawPointer(try scratch(0, inF))
            case .q8_0: UnsafeMutableRawPointer(try scratch(0, (inF / 32 * 34 + 3) / 4))
            default: nil
            }
            for row in 0..<t {
                let xr = xp + row * inF, yr = yp + row * outF
                if let prepared, w.dtype == .bf16 {
                    omni_bf16_prepare_x(xr, prepared.assumingMemoryBound(to: Float.self), inF)
                } else if let prepared, w.dtype == .q8_0 {
                    omni_quantize_q8_0(xr, prepared.assumingMemoryBound(to: UInt8.self), inF)
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
                    case .q4_0: omni_matvec_q4_0(wp.assumingMemoryBound(to: UInt8.self), xr, yr, inF, r.lowerBound, r.upperBound)
                    default: throw OmniError.dtypeMismatch(key: "linear weight", expected: "f32/f16/bf16/q8_0/q4_0", actual: w.dtype)
                    }
                }
            }
        } else if w.dtype == .f32 {
            let wf = wp.assumingMemoryBound(to: Float.self)
            try parallelFor(ranges.count) { j in
                let r = ranges[j]
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(r.count), Int32(inF), 1,
                            xp, Int32(inF), wf + r.lowerBound * inF, Int32(inF), 0, yp + r.lowerBound, Int32(outF))
            }
        } else {
            let panel = 64
            let buffers = try (0..<ranges.count).map { try scratch($0, panel * inF) }
            try parallelFor(ranges.count) { j in
                let buf = buffers[j]
                var r0 = ranges[j].lowerBound
                while r0 < ranges[j].upperBound {
                    let rows = min(panel, ranges[j].upperBound - r0)
                    let n = rows * inF
                    switch w.dtype {
                    case .bf16: omni_bf16_to_f32(wp.assumingMemoryBound(to: UInt16.self) + r0 * inF, buf, n)
                    case .f16: omni_f16_to_f32(wp.assumingMemoryBound(to: UInt16.self) + r0 * inF, buf, n)
                    case .q8_0: omni_dequantize_q8_0(wp.assumingMemoryBound(to: UInt8.self) + r0 * inF / 32 * 34, buf, n)
                    case .q4_0: omni_dequantize_q4_0(wp.assumingMemoryBound(to: UInt8.self) + r0 * inF / 32 * 18, buf, n)
                    default: throw OmniError.dtypeMismatch(key: "linear weight", expected: "f32/f16/bf16/q8_0/q4_0", actual: w.dtype)
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(rows), Int32(inF), 1,
                                xp, Int32(inF), buf, Int32(inF), 0, yp + r0, Int32(outF))
                    r0 += rows
                }
            }
        }
        if let b = bias {
            let bp = b.floatPointer
            for row in 0..<t {
                let yr = yp + row * outF
                for o in 0..<outF { yr[o] += bp[o] }
            }
        }
    }
}
