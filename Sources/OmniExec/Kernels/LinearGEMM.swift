import CBLAS
import CKernels
import Foundation
import OmniCore

extension Kernels {
    /// Most floats of widened weight rows one task holds at a time (16 MiB per thread).
    static let gemmPanelFloats = 1 << 22

    /// Narrowest column block worth a GEMM call of its own: OpenBLAS packs all of x again for every call, so
    /// a block of n weight rows pays a packing pass over x per 2·n flops per element of x (measured with
    /// Benchmarks/sgemm_peak.c: 64-row panels ran at 0.6–0.7× of one call per thread).
    static let gemmMinColumns = 512

    /// y[T, out] = x[T, in] · W[out, in]ᵀ (+ bias), T > 2, on `threads` cores.
    ///
    /// The output columns are cut into blocks, two per thread when each stays at least `gemmMinColumns` wide
    /// (the pool hands blocks out as threads free up, so a core slowed by another process does less), else one
    /// per thread. f32 weights go straight to SGEMM. Other dtypes are widened once per call, a block at a time
    /// (at most `gemmPanelFloats`), into one of `threads` scratch slots that the block holds for its GEMM.
    /// The bias is written into y first and the GEMM accumulates onto it (beta = 1): no second pass over y.
    ///
    /// `bf16Compute` with bf16 weights on a CPU with AMX-BF16: each block runs `omni_gemm_bf16w` instead (x rounded to
    /// bf16, products and sums in f32; the weights are packed inside, a k-block of one block at a time, in the slot).
    static func gemm(x xp: UnsafePointer<Float>, rows t: Int, inF: Int, weight w: Tensor, bias: UnsafeMutablePointer<Float>?,
                     y yp: UnsafeMutablePointer<Float>, outF: Int, threads: Int, bf16Compute: Bool = false,
                     scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        if bf16Compute, w.dtype == .bf16, omni_gemm_bf16w_available() != 0 {
            try gemmBF16(x: xp, rows: t, inF: inF, weight: w, bias: bias, y: yp, outF: outF, threads: threads, scratch: scratch)
            return
        }
        let widened = w.dtype != .f32
        let perThread = outF / (2 * threads) >= gemmMinColumns ? 2 : 1
        var parts = threads * perThread
        if widened { parts = max(parts, (outF * inF + gemmPanelFloats - 1) / gemmPanelFloats) }
        let blocks = split(outF, parts: parts, multiple: 16)
        let widest = blocks.map(\.count).max() ?? 0
        var slots: [UnsafeMutablePointer<Float>] = []
        if widened {
            for i in 0..<min(max(threads, 1), blocks.count) { slots.append(try scratch(i, widest * inF)) }
        }
        let free = SlotList(count: slots.count)
        let wp = w.rawPointer
        try parallelFor(blocks.count) { j in
            let r = blocks[j], n = r.count
            var b: UnsafePointer<Float>
            var slot = -1
            if widened {
                slot = free.take()
                let buf = slots[slot]
                let count = n * inF
                switch w.dtype {
                case .bf16: omni_bf16_to_f32(wp.assumingMemoryBound(to: UInt16.self) + r.lowerBound * inF, buf, count)
                case .f16: omni_f16_to_f32(wp.assumingMemoryBound(to: UInt16.self) + r.lowerBound * inF, buf, count)
                case .q8_0 where w.layout == .q8_0Rows8:
                    omni_q8_0_r8_dequantize_rows(wp.assumingMemoryBound(to: UInt8.self), buf, inF, r.lowerBound, r.upperBound)
                case .q8_0: omni_dequantize_q8_0(wp.assumingMemoryBound(to: UInt8.self) + r.lowerBound * inF / 32 * 34, buf, count)
                case .q4_0 where w.layout == .q4_0Rows8:
                    omni_q4_0_r8_dequantize_rows(wp.assumingMemoryBound(to: UInt8.self), buf, inF, r.lowerBound, r.upperBound)
                case .q4_0: omni_dequantize_q4_0(wp.assumingMemoryBound(to: UInt8.self) + r.lowerBound * inF / 32 * 18, buf, count)
                case .q5_0: omni_dequantize_q5_0(wp.assumingMemoryBound(to: UInt8.self) + r.lowerBound * inF / 32 * 22, buf, count)
                case .q4_k: omni_dequantize_q4_k(wp.assumingMemoryBound(to: UInt8.self) + r.lowerBound * inF / 256 * 144, buf, count)
                case .q6_k: omni_dequantize_q6_k(wp.assumingMemoryBound(to: UInt8.self) + r.lowerBound * inF / 256 * 210, buf, count)
                default:
                    free.give(slot)
                    throw OmniError.dtypeMismatch(key: "linear weight", expected: "f32/f16/bf16/q8_0/q4_0/q5_0/q4_k/q6_k",
                                                  actual: w.dtype)
                }
                b = UnsafePointer(buf)
            } else {
                b = UnsafePointer(wp.assumingMemoryBound(to: Float.self)) + r.lowerBound * inF
            }
            var beta: Float = 0
            if let bias {
                omni_fill_rows(yp + r.lowerBound, outF, bias + r.lowerBound, t, n)
                beta = 1
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(n), Int32(inF), 1,
                        xp, Int32(inF), b, Int32(inF), beta, yp + r.lowerBound, Int32(outF))
            if slot >= 0 { free.give(slot) }
        }
    }
}

extension Kernels {
    /// `gemm`'s bf16-compute path: the same column blocks, each one `omni_gemm_bf16w` call with its packed panels in a
    /// scratch slot (`omni_gemm_bf16w_scratch_words`, planned by `RunMemory`).
    private static func gemmBF16(x xp: UnsafePointer<Float>, rows t: Int, inF: Int, weight w: Tensor,
                                 bias: UnsafeMutablePointer<Float>?, y yp: UnsafeMutablePointer<Float>, outF: Int,
                                 threads: Int, scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        let perThread = outF / (2 * threads) >= gemmMinColumns ? 2 : 1
        let blocks = split(outF, parts: threads * perThread, multiple: 16)
        let widest = blocks.map(\.count).max() ?? 0
        let words = omni_gemm_bf16w_scratch_words(t, inF, widest)
        var slots: [UnsafeMutablePointer<Float>] = []
        for i in 0..<min(max(threads, 1), blocks.count) { slots.append(try scratch(i, words)) }
        let free = SlotList(count: slots.count)
        let wp = w.rawPointer.assumingMemoryBound(to: UInt16.self)
        try parallelFor(blocks.count) { j in
            let r = blocks[j]
            let slot = free.take()
            defer { free.give(slot) }
            if let bias { omni_fill_rows(yp + r.lowerBound, outF, bias + r.lowerBound, t, r.count) }
            let status = omni_gemm_bf16w(xp, t, inF, wp, r.lowerBound, r.upperBound, yp, outF, bias == nil ? 0 : 1, slots[slot])
            if status != 0 { throw OmniError.unsupported(what: "bf16 compute GEMM", reasons: ["this CPU has no AMX-BF16"]) }
        }
    }
}

/// Indices 0..<count handed to whichever task asks (a task of a parallel region does not know its thread). The
/// pool may run more tasks at once than there are slots (its workers outlive an executor with more threads), so
/// `take` waits for a slot to come back; a task holds its slot only for its own widening and GEMM.
final class SlotList: @unchecked Sendable {
    private var free: [Int]
    private let condition = NSCondition()
    init(count: Int) { free = Array((0..<count).reversed()) }
    func take() -> Int {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty { condition.wait() }
        return free.removeLast()
    }
    func give(_ i: Int) {
        condition.lock()
        free.append(i)
        condition.signal()
        condition.unlock()
    }
}
