import Foundation
import OmniCore

extension CUDAKernels {
    /// Decode-time linear (≤ 8 activation rows) with a bf16 weight: the GEMV kernel (kernels/gemv.cu) reads W once
    /// with 16-byte loads, four output features a warp, and adds the bias; cuBLASLt's GEMM is tuned for larger
    /// problems. Returns false when the call is not of that form (then the GEMM runs).
    static func gemv(_ c: CUDAKernelCall, x: Tensor, weight w: Tensor, bias: Tensor?, rows: Int, inF: Int, outF: Int) throws -> Bool {
        if w.dtype == .q8_0 { return try gemvQ8(c, x: x, weight: w, bias: bias, rows: rows, inF: inF, outF: outF) }
        guard rows >= 1, rows <= 8, w.dtype == .bf16, inF % 8 == 0, x.address % 16 == 0, w.address % 16 == 0,
              bias.map({ $0.dtype == .f32 }) ?? true else { return false }
        let capacity = rows == 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8
        let wpr = gemvSplit(outFeatures: outF, multiprocessors: c.module.context.multiprocessors)
        let groups = (outF + 3) / 4, perBlock = 8 / wpr
        try c.module.launch("omni_gemv_bf16_m\(capacity)", grid: (groups + perBlock - 1) / perBlock, block: 256, [
            .ptr(x.address), .int(inF), .ptr(w.address), .ptr(bias?.address ?? 0), .ptr(c.out.address), .int(outF),
            .int(rows), .int(outF), .int(inF), .int(wpr)])
        return true
    }

    /// The same for a Q8_0-resident weight (repacked: quants [N, K] then f16 scales [N, K / 32]): ~1.06 bytes a
    /// weight read.
    static func gemvQ8(_ c: CUDAKernelCall, x: Tensor, weight w: Tensor, bias: Tensor?, rows: Int, inF: Int, outF: Int) throws -> Bool {
        guard rows >= 1, rows <= 8, inF % 32 == 0, x.address % 16 == 0, w.address % 16 == 0,
              bias.map({ $0.dtype == .f32 }) ?? true else { return false }
        let capacity = rows == 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8
        // 8 warps a multiprocessor (the harness's Q8_0 choice: its kernel runs 3 blocks of 8 warps at most).
        let wpr = gemvSplit(outFeatures: outF, multiprocessors: c.module.context.multiprocessors, warpsPerMultiprocessor: 8)
        let groups = (outF + 3) / 4, perBlock = 8 / wpr
        if q8ByDP4A {
            // Activations quantized per 32 (llama.cpp's q8_1), then dp4a: int8 [rows, K] and f32 scales [rows, K / 32].
            let buf = try c.executor.quantizedActivations(rows * inF + rows * (inF / 32) * 4)
            let xq = buf.deviceAddress, xd = xq + UInt64((rows * inF + 15) / 16 * 16)
            try c.module.launch("omni_quantize_q8_rows", grid: CUDAModule.blocks(rows * inF), block: 256, [
                .ptr(x.address), .int(inF), .int(rows), .int(inF), .ptr(xq), .ptr(xd)])
            try c.module.launch("omni_gemv_q8_0_dp4a_m\(capacity)", grid: (groups + perBlock - 1) / perBlock, block: 256, [
                .ptr(xq), .ptr(xd), .ptr(w.address), .ptr(w.address + UInt64(outF * inF)), .ptr(bias?.address ?? 0),
                .ptr(c.out.address), .int(outF), .int(rows), .int(outF), .int(inF), .int(wpr)])
            return true
        }
        try c.module.launch("omni_gemv_q8_0_m\(capacity)", grid: (groups + perBlock - 1) / perBlock, block: 256, [
            .ptr(x.address), .int(inF), .ptr(w.address), .ptr(w.address + UInt64(outF * inF)), .ptr(bias?.address ?? 0),
            .ptr(c.out.address), .int(outF), .int(rows), .int(outF), .int(inF), .int(wpr)])
        return true
    }

    /// Two or three decode linears over the same activations (a `CUDAFusion` group: q/k/v, gate/up) as one launch of
    /// `omni_gemv3_*`, each weight computed exactly as `gemv` would (same kernel body, same split); with dp4a the
    /// activations are quantized once for all. Returns false (nothing launched) unless every member would run the
    /// GEMV with the same kind of weight.
    static func gemvMany(_ calls: [CUDAKernelCall]) throws -> Bool {
        guard calls.count == 2 || calls.count == 3, let c0 = calls.first else { return false }
        let x = c0.inputs[0], w0 = c0.inputs[1]
        let inF = w0.shape[w0.shape.rank - 1], rows = x.elementCount / max(inF, 1)
        let q8 = w0.dtype == .q8_0
        guard rows >= 1, rows <= 8, x.address % 16 == 0, x.shape.dims.last == inF, w0.dtype == .bf16 || q8,
              inF % (q8 ? 32 : 8) == 0 else { return false }
        let sms = c0.module.context.multiprocessors
        var segs: [(w: UInt64, bias: UInt64, y: UInt64, n: Int, wpr: Int, blocks: Int)] = []
        for c in calls {
            let w = c.inputs[1], bias = c.inputs.count > 2 ? c.inputs[2] : nil
            guard c.inputs[0].address == x.address, w.dtype == w0.dtype, w.shape.rank == 2, w.shape[1] == inF,
                  w.address % 16 == 0, bias.map({ $0.dtype == .f32 }) ?? true, c.out.elementCount == rows * w.shape[0] else { return false }
            let outF = w.shape[0]
            let wpr = q8 ? gemvSplit(outFeatures: outF, multiprocessors: sms, warpsPerMultiprocessor: 8)
                : gemvSplit(outFeatures: outF, multiprocessors: sms)
            let groups = (outF + 3) / 4, perBlock = 8 / wpr
            segs.append((w.address, bias?.address ?? 0, c.out.address, outF, wpr, (groups + perBlock - 1) / perBlock))
        }
        if segs.count == 2 { segs.append((0, 0, 0, 0, 1, 0)) }
        let capacity = rows == 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8
        let args: [CUDAArg] = segs.flatMap { s -> [CUDAArg] in
            [.ptr(s.w), .ptr(s.bias), .ptr(s.y), .int(s.n), .int(s.wpr), .int(s.blocks)]
        }
        let grid = segs.reduce(0) { $0 + $1.blocks }
        if !q8 {
            try c0.module.launch("omni_gemv3_bf16_m\(capacity)", grid: grid, block: 256,
                                 [.ptr(x.address), .int(inF), .int(rows), .int(inF)] + args)
        } else if q8ByDP4A {
            let buf = try c0.executor.quantizedActivations(rows * inF + rows * (inF / 32) * 4)
            let xq = buf.deviceAddress, xd = xq + UInt64((rows * inF + 15) / 16 * 16)
            try c0.module.launch("omni_quantize_q8_rows", grid: CUDAModule.blocks(rows * inF), block: 256, [
                .ptr(x.address), .int(inF), .int(rows), .int(inF), .ptr(xq), .ptr(xd)])
            try c0.module.launch("omni_gemv3_q8_0_dp4a_m\(capacity)", grid: grid, block: 256,
                                 [.ptr(xq), .ptr(xd), .int(rows), .int(inF)] + args)
        } else {
            try c0.module.launch("omni_gemv3_q8_0_m\(capacity)", grid: grid, block: 256,
                                 [.ptr(x.address), .int(inF), .int(rows), .int(inF)] + args)
        }
        return true
    }

    /// Gate, up and SwiGLU of an MLP group (`calls`: gate, up, SwiGLU, down) with ≤ 8 rows and bf16 weights as one
    /// launch of `omni_gemv_swiglu_bf16_*`: each dot product as `gemv` computes it (same kernel body and split), the
    /// SwiGLU as `omni_swiglu_f32`, so bit-identical to the three launches; only the SwiGLU value is written (nothing
    /// else reads gate and up: CUDAFusion seals the group). Down is left to the caller. False (nothing launched) when
    /// the calls are not of that form, or the SwiGLU output shares memory with x (it is read while y is written).
    static func gemvSwiGLU(_ calls: [CUDAKernelCall]) throws -> Bool {
        guard calls.count == 4 else { return false }
        let gate = calls[0], up = calls[1], act = calls[2]
        let x = gate.inputs[0], wg = gate.inputs[1], wu = up.inputs[1]
        guard wg.shape.rank == 2, wu.shape == wg.shape, wg.dtype == .bf16, wu.dtype == .bf16 else { return false }
        let inF = wg.shape[1], outF = wg.shape[0], rows = x.elementCount / max(inF, 1)
        guard rows >= 1, rows <= 8, inF % 8 == 0, x.dtype == .f32, x.shape.dims.last == inF, up.inputs[0].address == x.address,
              x.address % 16 == 0, wg.address % 16 == 0, wu.address % 16 == 0, act.out.elementCount == rows * outF,
              act.out.dtype == .f32, !CUDAFusion.overlap(act.out, x),
              gate.inputs.count == 2 || gate.inputs[2].dtype == .f32, up.inputs.count == 2 || up.inputs[2].dtype == .f32
        else { return false }
        let capacity = rows == 1 ? 1 : rows <= 2 ? 2 : rows <= 4 ? 4 : 8
        let wpr = gemvSplit(outFeatures: outF, multiprocessors: act.module.context.multiprocessors)
        let groups = (outF + 1) / 2, perBlock = 8 / wpr
        try act.module.launch("omni_gemv_swiglu_bf16_m\(capacity)", grid: (groups + perBlock - 1) / perBlock, block: 256, [
            .ptr(x.address), .int(inF), .ptr(wg.address), .ptr(wu.address),
            .ptr(gate.inputs.count > 2 ? gate.inputs[2].address : 0), .ptr(up.inputs.count > 2 ? up.inputs[2].address : 0),
            .ptr(act.out.address), .int(outF), .int(rows), .int(outF), .int(inF), .int(wpr)])
        return true
    }

    /// The Q8_0 GEMV by dp4a over activations quantized per 32 (as llama.cpp and the CPU's Q8_0 path do), on by
    /// default; OMNI_CUDA_Q8_DP4A=0 keeps the activations f32 (exact products, slower).
    static let q8ByDP4A = ProcessInfo.processInfo.environment["OMNI_CUDA_Q8_DP4A"] != "0"

    /// The bf16 GEMV's warps-per-multiprocessor target: 32 (OMNI_CUDA_GEMV_WARPS=8 … 64 for A/B runs). The GEMV
    /// harness's sweep had picked 16 (q/o and down on 4 warps a row group); whole decode steps on the H200 ran 1.8%
    /// faster with 32 (q/o and down on 8), three rounds out of three (docs/BENCHMARKS.md, stop 24).
    static let gemvWarps: Int = {
        guard let v = ProcessInfo.processInfo.environment["OMNI_CUDA_GEMV_WARPS"], let n = Int(v), (8...64).contains(n) else { return 32 }
        return n
    }()

    /// Warps per group of four output features (1, 2, 4 or 8): the fewest that still give each of the GPU's
    /// multiprocessors (132 on the H200) `warpsPerMultiprocessor` warps (at 32 on the 7B shapes: q/o, k/v and down 8, gate/up and
    /// lm_head 1).
    static func gemvSplit(outFeatures: Int, multiprocessors: Int, warpsPerMultiprocessor: Int = gemvWarps) -> Int {
        let groups = (outFeatures + 3) / 4
        var wpr = 1
        while wpr < 8 && groups * wpr < warpsPerMultiprocessor * multiprocessors { wpr *= 2 }
        return wpr
    }
}
