import CKernels
import OmniCore

extension Kernels {
    /// Most rows the small-batch path takes (a batched decode step of that many sessions); more go to SGEMM.
    static let smallBatchRows = 16

    /// Whether the small-batch path takes x [m, inF] against weights of `dtype`: 2 ≤ m ≤ `smallBatchRows`, f32, bf16
    /// or Q8_0 weights (Q8_0 needs whole blocks).
    static func smallBatchTakes(rows m: Int, inF: Int, dtype: DType) -> Bool {
        m >= 2 && m <= smallBatchRows && [.f32, .bf16, .q8_0].contains(dtype) && (dtype != .q8_0 || inF % 32 == 0)
    }

    /// y[M, out] = x[M, in] · W[out, in]ᵀ (+ b) for one weight: `linearSmallBatch(x:products:…)` of one product.
    static func linearSmallBatch(x: Tensor, weight w: Tensor, bias: Tensor?, out: Tensor, threads: Int,
                                 scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws -> Bool {
        try linearSmallBatch(x: x, products: [DecodeProduct(weight: w, bias: bias, out: out)], threads: threads,
                             scratch: scratch)
    }

    /// y_p[M, out_p] = x[M, in] · W_pᵀ (+ b_p) for every product p, 2 ≤ M ≤ `smallBatchRows`, all weights f32, bf16
    /// or Q8_0 of one dtype and layout (Q8_0 interleaved rows take matvec_q8r8.c's kernels, the same as their
    /// single-row decode). x is prepared once for all products (bf16: interleaved; Q8_0: quantized, its scales
    /// widened), then every product's row blocks go to the pool as one parallel region, each task adding its rows'
    /// bias. Every weight row is read once for all M rows (a batched decode step shares one pass over the weights),
    /// and row r equals the single-row decode kernel's result bit for bit, whatever the grouping. Returns false
    /// (nothing written) for other shapes and dtypes.
    ///
    /// Scratch: slot 0 holds the prepared x (the size `RunMemory` counts for one small-batch linear).
    static func linearSmallBatch(x: Tensor, products: [DecodeProduct], threads: Int,
                                 scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws -> Bool {
        guard let first = products.first else { return false }
        let m = x.shape[0], inF = x.shape[-1], dtype = first.weight.dtype, layout = first.weight.layout
        guard smallBatchTakes(rows: m, inF: inF, dtype: dtype),
              products.allSatisfy({ $0.weight.dtype == dtype && $0.weight.layout == layout && $0.weight.shape[1] == inF })
        else { return false }
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let tasks = decodeTasks(products, threads: threads)
        let weights = products.map(\.weight.rawPointer)
        let outs = products.map(\.out.floatPointer)
        let biases = products.map { $0.bias?.floatPointer }
        let widths = products.map { $0.weight.shape[0] }
        /// Adds the bias to rows r0 ..< r1 of every row of x (the same f32 additions as adding it afterwards).
        func addBias(_ p: Int, _ r0: Int, _ r1: Int) {
            guard let b = biases[p] else { return }
            for i in 0..<m {
                let yr = outs[p] + i * widths[p]
                for o in r0..<r1 { yr[o] += b[o] }
            }
        }
        switch dtype {
        case .f32:
            try parallelFor(tasks.count) { j in
                let (p, r0, r1) = tasks[j]
                omni_matmul_small_f32(weights[p].assumingMemoryBound(to: Float.self), xp, outs[p], inF, widths[p], m, r0, r1)
                addBias(p, r0, r1)
            }
        case .bf16:
            let prepared = try scratch(0, m * inF)                                  // (M, in) f32, kernel layout
            for r in 0..<m { omni_bf16_prepare_x(xp + r * inF, prepared + r * inF, inF) }
            try parallelFor(tasks.count) { j in
                let (p, r0, r1) = tasks[j]
                omni_matmul_small_bf16_prepared(weights[p].assumingMemoryBound(to: UInt16.self), prepared, xp, outs[p], inF,
                                                widths[p], m, r0, r1)
                addBias(p, r0, r1)
            }
        default:
            let rowBytes = inF / 32 * 34
            let q = UnsafeMutableRawPointer(try scratch(0, (m * rowBytes + 3) / 4))    // (M, in/32 × 34) Q8_0 blocks
                .assumingMemoryBound(to: UInt8.self)
            for r in 0..<m { omni_quantize_q8_0(xp + r * inF, q + r * rowBytes, inF) }
            if layout == .q8_0Rows8 {
                let blocks = m * (inF / 32)
                try withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks) { sx in   // (M, in/32) x's scales
                    let sp = sx.baseAddress!
                    omni_q8_0_widen_scales(q, sp, blocks)
                    try parallelFor(tasks.count) { j in
                        let (p, r0, r1) = tasks[j]
                        omni_matmul_small_q8_0_r8_widened(weights[p].assumingMemoryBound(to: UInt8.self), q, sp, outs[p], inF,
                                                          widths[p], m, r0, r1)
                        addBias(p, r0, r1)
                    }
                }
            } else {
                try parallelFor(tasks.count) { j in
                    let (p, r0, r1) = tasks[j]
                    omni_matmul_small_q8_0(weights[p].assumingMemoryBound(to: UInt8.self), q, outs[p], inF, widths[p], m, r0, r1)
                    addBias(p, r0, r1)
                }
            }
        }
        return true
    }
}
