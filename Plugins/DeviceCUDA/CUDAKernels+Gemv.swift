import OmniCore

extension CUDAKernels {
    /// Decode-time linear (≤ 8 activation rows) with a bf16 weight: the GEMV kernel (kernels/gemv.cu) reads W once
    /// with 16-byte loads, four output features a warp, and adds the bias; cuBLASLt's GEMM is tuned for larger
    /// problems. Returns false when the call is not of that form (then the GEMM runs).
    static func gemv(_ c: CUDAKernelCall, x: Tensor, weight w: Tensor, bias: Tensor?, rows: Int, inF: Int, outF: Int) throws -> Bool {
        guard rows >= 1, rows <= 8, w.dtype == .bf16, inF % 8 == 0, x.address % 16 == 0, w.address % 16 == 0,
              bias.map({ $0.dtype == .f32 }) ?? true else { return false }
        let capacity = rows == 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8
        let wpr = gemvSplit(outFeatures: outF)
        let groups = (outF + 3) / 4, perBlock = 8 / wpr
        try c.module.launch("omni_gemv_bf16_m\(capacity)", grid: (groups + perBlock - 1) / perBlock, block: 256, [
            .ptr(x.address), .int(inF), .ptr(w.address), .ptr(bias?.address ?? 0), .ptr(c.out.address), .int(outF),
            .int(rows), .int(outF), .int(inF), .int(wpr)])
        return true
    }

    /// Warps per group of four output features (1, 2, 4 or 8): the fewest that still give each of the H200's 132
    /// multiprocessors 16 warps (the harness's sweep: q/o 4, k/v 8, gate/up and lm_head 1, down 4).
    static func gemvSplit(outFeatures: Int, multiprocessors: Int = 132) -> Int {
        let groups = (outFeatures + 3) / 4
        var wpr = 1
        while wpr < 8 && groups * wpr < 16 * multiprocessors { wpr *= 2 }
        return wpr
    }
}
