import CCUDA
import Foundation
import OmniCore

extension CUDAKernels {
    /// linear through cuBLASLt (f32 accumulation): an f32 weight runs an f32 GEMM without TF32 (the parity mode); a
    /// bf16 weight (the speed mode keeps GEMM weights bf16) takes the activations rounded to bf16 by a kernel. The
    /// bias is added in the GEMM's epilogue (f32, before the result is stored).
    static func registerLinear(into t: inout CUDAKernelTable) {
        t.register(.linear, dtypes: CUDAKernelTable.floats) { c in
            let x = c.inputs[0], w = c.inputs[1]
            let inF = w.shape[w.shape.rank - 1], outF = w.shape[0]
            let rows = x.elementCount / max(inF, 1)
            guard w.shape.rank == 2, x.shape.dims.last == inF, c.out.elementCount == rows * outF else {
                throw OmniError.invalidArgument(name: c.node.name, expected: "x [T, \(inF)] · W [\(outF), \(inF)]ᵀ",
                                                actual: "x \(x.shape), W \(w.shape)")
            }
            if try CUDAKernels.gemv(c, x: x, weight: w, bias: c.inputs.count > 2 ? c.inputs[2] : nil, rows: rows, inF: inF,
                                    outF: outF) { return }
            try c.executor.gemm(x: x, weight: w, out: c.out, rows: rows, inF: inF, outF: outF, bias: c.bias)
        }
    }
}

extension CUDAKernels {
    /// Linears over the same activations with more than 8 rows and bf16 weights (a CUDAFusion group in prefill):
    /// x rounded to bf16 once, then each GEMM and its bias as `linear` runs them. False (nothing launched) otherwise.
    static func gemmMany(_ calls: [CUDAKernelCall]) throws -> Bool {
        guard let c0 = calls.first else { return false }
        let x = c0.inputs[0], inF = c0.inputs[1].shape[1], rows = x.elementCount / max(inF, 1)
        guard rows > 8, x.shape.dims.last == inF, x.dtype == .f32 else { return false }
        for c in calls {
            let w = c.inputs[1]
            guard c.inputs[0].address == x.address, w.dtype == .bf16, w.shape.rank == 2, w.shape[1] == inF,
                  c.out.elementCount == rows * w.shape[0] else { return false }
        }
        let xb = try c0.executor.bf16Input(elements: rows * inF)
        try c0.module.launch("omni_cast_f32_bf16", grid: CUDAModule.blocks(rows * inF), block: 256,
                             [.ptr(x.address), .ptr(xb), .long(rows * inF)])
        for c in calls {
            let outF = c.inputs[1].shape[0]
            try c.executor.gemm(bf16Input: xb, weight: c.inputs[1], out: c.out, rows: rows, inF: inF, outF: outF, bias: c.bias)
        }
        return true
    }

    /// SwiGLU and the linear that reads it (down) with more than 8 rows and a bf16 weight: the GEMM's bf16 input
    /// written by `omni_swiglu_bf16` (the SwiGLU node's f32 output is not written), `swigluChunkRows` rows at a time
    /// so the bf16 buffer stays small (2048 × 18944 × 2 B = 74 MiB for the 7B, not 296 MiB at 8192 tokens). False
    /// (nothing launched) otherwise.
    static func swigluGemm(_ s: CUDAKernelCall, _ l: CUDAKernelCall) throws -> Bool {
        let gate = s.inputs[0], up = s.inputs[1], w = l.inputs[1]
        let inF = w.shape[w.shape.rank - 1], outF = w.shape[0], n = gate.elementCount, rows = n / max(inF, 1)
        guard rows > 8, w.dtype == .bf16, w.shape.rank == 2, up.elementCount == n, s.out.elementCount == n,
              s.out.shape.dims.last == inF, l.out.elementCount == rows * outF else { return false }
        let chunk = min(rows, swigluChunkRows)
        let xb = try s.executor.bf16Input(elements: chunk * inF)
        for r0 in stride(from: 0, to: rows, by: chunk) {
            let r = min(chunk, rows - r0), off = UInt64(r0 * inF * 4)
            try s.module.launch("omni_swiglu_bf16", grid: CUDAModule.blocks(r * inF), block: 256,
                                [.ptr(gate.address + off), .ptr(up.address + off), .ptr(xb), .long(r * inF)])
            let out = Tensor(storage: l.out.storage, byteOffset: l.out.byteOffset + r0 * outF * 4, shape: [r, outF], dtype: .f32)
            try l.executor.gemm(bf16Input: xb, weight: w, out: out, rows: r, inF: inF, outF: outF, bias: l.bias)
        }
        return true
    }

    /// A whole MLP (gate and up linears over the same x, SwiGLU, down) with more than 8 rows and bf16 weights, with
    /// bf16 intermediates as transformers keeps them in bf16: x rounded to bf16 once, gate and up GEMMs written as bf16
    /// (rounded once from the f32 accumulator) into the SwiGLU node's buffer (its f32 size holds both; it lives until
    /// down has read it, so the down output is never placed there, and x, which it may share, is read whole by the
    /// rounding pass before the GEMMs write), then per `swigluChunkRows` rows SwiGLU (biases added in f32) into the
    /// down GEMM's bf16 input and the GEMM. Half the activation bytes of f32 gate/up outputs. The f32 gate, up and
    /// SwiGLU values are not written. False (nothing launched) when the calls are not of that form (then the parts
    /// run as before).
    static func mlpGemm(_ calls: [CUDAKernelCall]) throws -> Bool {
        guard mlpBF16, calls.count == 4 else { return false }
        let gate = calls[0], up = calls[1], act = calls[2], down = calls[3]
        let x = gate.inputs[0], wg = gate.inputs[1], wu = up.inputs[1], wd = down.inputs[1]
        guard wg.shape.rank == 2, wu.shape == wg.shape, wd.shape.rank == 2 else { return false }
        let inF = wg.shape[1], mid = wg.shape[0], outF = wd.shape[0]
        let rows = x.elementCount / max(inF, 1)
        guard rows > 8, x.dtype == .f32, x.shape.dims.last == inF, up.inputs[0].address == x.address,
              wg.dtype == .bf16, wu.dtype == .bf16, wd.dtype == .bf16, wd.shape[1] == mid,
              gate.out.elementCount == rows * mid, up.out.elementCount == rows * mid, act.out.elementCount == rows * mid,
              down.out.elementCount == rows * outF, act.out.dtype == .f32,
              gate.inputs.count == 2 || gate.inputs[2].dtype == .f32, up.inputs.count == 2 || up.inputs[2].dtype == .f32
        else { return false }
        let e = gate.executor
        let gb = act.out.address, ub = gb + UInt64(rows * mid * 2)
        let xb = try e.bf16Input(elements: rows * inF)
        try gate.module.launch("omni_cast_f32_bf16", grid: CUDAModule.blocks(rows * inF), block: 256,
                               [.ptr(x.address), .ptr(xb), .long(rows * inF)])
        try e.gemm(bf16Input: xb, weight: wg, outAddress: gb, bf16Output: true, rows: rows, inF: inF, outF: mid)
        try e.gemm(bf16Input: xb, weight: wu, outAddress: ub, bf16Output: true, rows: rows, inF: inF, outF: mid)
        let bg = gate.inputs.count > 2 ? gate.inputs[2].address : 0, bu = up.inputs.count > 2 ? up.inputs[2].address : 0
        let chunk = min(rows, swigluChunkRows)
        let sb = try e.bf16Input(elements: chunk * mid)
        for r0 in stride(from: 0, to: rows, by: chunk) {
            let r = min(chunk, rows - r0), off = UInt64(r0 * mid * 2)
            try act.module.launch("omni_swiglu_bf16_bf16", grid: CUDAModule.blocks(r * mid), block: 256, [
                .ptr(gb + off), .ptr(ub + off), .ptr(bg), .ptr(bu), .ptr(sb), .long(r * mid), .long(mid)])
            let out = Tensor(storage: down.out.storage, byteOffset: down.out.byteOffset + r0 * outF * 4, shape: [r, outF], dtype: .f32)
            try e.gemm(bf16Input: sb, weight: wd, out: out, rows: r, inF: mid, outF: outF, bias: down.bias)
        }
        return true
    }

    /// `mlpGemm` on (the default); OMNI_CUDA_MLP_BF16=0 keeps f32 gate/up outputs (for A/B measurements).
    static let mlpBF16 = ProcessInfo.processInfo.environment["OMNI_CUDA_MLP_BF16"] != "0"

    /// Rows of SwiGLU → down per GEMM in `swigluGemm` (OMNI_CUDA_SWIGLU_CHUNK, default 2048).
    static let swigluChunkRows = max(1, Int(ProcessInfo.processInfo.environment["OMNI_CUDA_SWIGLU_CHUNK"] ?? "") ?? 2048)
}

/// cuBLASLt for one GPU: a handle and a workspace.
final class CUDABlas: @unchecked Sendable {
    let context: CUDAContext
    private let handle: omni_cublasLtHandle
    /// Workspace for cuBLASLt's algorithms (accounted as scratch).
    let workspace: Storage

    init(context: CUDAContext, device: CUDADevice) throws {
        self.context = context
        var h: omni_cublasLtHandle?
        let rc = context.api.pointee.cublasLtCreate(&h)
        guard rc == 0, let h else { throw OmniError.unsupported(what: "cuBLASLt", reasons: ["cublasLtCreate failed: status \(rc)"]) }
        handle = h
        workspace = try device.allocate(32 << 20, kind: .scratch)
    }

    func check(_ rc: omni_cublasStatus, _ what: String) throws {
        guard rc == 0 else { throw OmniError.unsupported(what: "cuBLASLt \(what)", reasons: ["status \(rc)"]) }
    }

    /// y [rows, outF] = x [rows, inF] · W [outF, inF]ᵀ, with x and W both f32 or both bf16 (`type`), f32
    /// accumulation, y f32 or (from bf16 inputs) bf16 (`outType`, rounded once); y's rows `ldy` elements apart
    /// (0: outF, contiguous). Column-major view: Y (outF × rows) = Wᵀ-as-stored (inF × outF, transposed) · X
    /// (inF × rows). Recorded while the context records (a decode step), issued otherwise.
    func matmul(x: UInt64, w: UInt64, y: UInt64, rows: Int, inF: Int, outF: Int, type: Int32,
                outType: Int32 = Int32(OMNI_CUDA_R_32F), bias: UInt64 = 0, ldy: Int = 0) throws {
        if let r = context.recorder {
            r.ops.append(.matmul(x: x, w: w, y: y, rows: rows, inF: inF, outF: outF, type: type, outType: outType, bias: bias,
                                 ldy: ldy))
            return
        }
        try issueMatmul(x: x, w: w, y: y, rows: rows, inF: inF, outF: outF, type: type, outType: outType, bias: bias, ldy: ldy)
    }

    /// `matmul` issued on the stream now; a non-zero `bias` (f32 [outF], device address) is added by cuBLASLt's
    /// BIAS epilogue.
    func issueMatmul(x: UInt64, w: UInt64, y: UInt64, rows: Int, inF: Int, outF: Int, type: Int32,
                     outType: Int32 = Int32(OMNI_CUDA_R_32F), bias: UInt64 = 0, ldy: Int = 0) throws {
        precondition(ldy == 0 || ldy >= outF, "matmul: ldy \(ldy) < outF \(outF)")
        let f = context.api.pointee
        var desc: omni_cublasLtMatmulDesc?
        try check(f.cublasLtMatmulDescCreate(&desc, Int32(OMNI_CUBLAS_COMPUTE_32F), Int32(OMNI_CUDA_R_32F)), "matmul desc")
        defer { _ = f.cublasLtMatmulDescDestroy(desc) }
        var opT = Int32(OMNI_CUBLAS_OP_T), opN = Int32(OMNI_CUBLAS_OP_N)
        try check(f.cublasLtMatmulDescSetAttribute(desc, Int32(OMNI_CUBLASLT_MATMUL_DESC_TRANSA), &opT, 4), "transa")
        try check(f.cublasLtMatmulDescSetAttribute(desc, Int32(OMNI_CUBLASLT_MATMUL_DESC_TRANSB), &opN, 4), "transb")
        if bias != 0 {
            var epilogue = UInt32(OMNI_CUBLASLT_EPILOGUE_BIAS), pointer = bias
            try check(f.cublasLtMatmulDescSetAttribute(desc, Int32(OMNI_CUBLASLT_MATMUL_DESC_EPILOGUE), &epilogue, 4), "epilogue")
            try check(f.cublasLtMatmulDescSetAttribute(desc, Int32(OMNI_CUBLASLT_MATMUL_DESC_BIAS_POINTER), &pointer, 8), "bias pointer")
        }
        var a: omni_cublasLtMatrixLayout?, b: omni_cublasLtMatrixLayout?, d: omni_cublasLtMatrixLayout?
        try check(f.cublasLtMatrixLayoutCreate(&a, type, UInt64(inF), UInt64(outF), Int64(inF)), "layout A")
        defer { _ = f.cublasLtMatrixLayoutDestroy(a) }
        try check(f.cublasLtMatrixLayoutCreate(&b, type, UInt64(inF), UInt64(rows), Int64(inF)), "layout B")
        defer { _ = f.cublasLtMatrixLayoutDestroy(b) }
        try check(f.cublasLtMatrixLayoutCreate(&d, outType, UInt64(outF), UInt64(rows), Int64(ldy > 0 ? ldy : outF)), "layout D")
        defer { _ = f.cublasLtMatrixLayoutDestroy(d) }
        var alpha: Float = 1, beta: Float = 0
        let ws = workspace.deviceAddress
        context.noteOtherWork()
        try check(f.cublasLtMatmul(handle, desc, &alpha, UnsafeRawPointer(bitPattern: UInt(w)), a,
                                   UnsafeRawPointer(bitPattern: UInt(x)), b, &beta,
                                   UnsafeRawPointer(bitPattern: UInt(y)), d, UnsafeMutableRawPointer(bitPattern: UInt(y)), d,
                                   nil, UnsafeMutableRawPointer(bitPattern: UInt(ws)), workspace.byteCount, context.stream),
                  "matmul \(rows)×\(inF) · \(outF)×\(inF)ᵀ")
    }
}
