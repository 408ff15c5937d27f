import Foundation
import OmniCore

extension CUDAKernels {
    /// conv1d and convTranspose1d (kernels/conv.cu); weights widened to f32 at upload. conv1d with groups 1 and at
    /// least 16 output channels and positions runs as a GEMM (`conv1dGemm`), the others as direct kernels.
    static func registerConvolution(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats
        t.register(.conv1d, dtypes: f) { c in
            guard case let .conv1d(_, _, b, stride, padding, dilation, groups) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], w = c.inputs[1]
            let cin = x.shape[0], len = x.shape[1], cout = w.shape[0], k = w.shape[2], lOut = c.out.shape[1]
            guard cin % groups == 0, cout % groups == 0, w.shape[1] == cin / groups else {
                throw OmniError.invalidArgument(name: c.node.name, expected: "weight [\(cout), \(cin / max(groups, 1)), K]", actual: "\(w.shape)")
            }
            if usesConvGemm(groups: groups, cout: cout, lOut: lOut) {
                try conv1dGemm(c, cin: cin, len: len, cout: cout, k: k, stride: stride, padding: padding, dilation: dilation,
                               lOut: lOut, bias: b == nil ? nil : c.inputs[2])
                return
            }
            try c.module.launch("omni_conv1d_f32", grid: CUDAModule.blocks(cout * lOut), block: 256, [
                .ptr(x.address), .ptr(w.address), .ptr(b == nil ? 0 : c.inputs[2].address), .ptr(c.out.address),
                .int(cin), .int(len), .int(cout), .int(k), .int(stride), .int(padding), .int(dilation), .int(groups), .int(lOut)])
        }
        t.register(.convTranspose1d, dtypes: f) { c in
            guard case let .convTranspose1d(_, _, b, stride, padding) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], w = c.inputs[1]
            let cin = x.shape[0], len = x.shape[1], cout = w.shape[1], k = w.shape[2], lOut = c.out.shape[1]
            try c.module.launch("omni_conv_transpose1d_f32", grid: CUDAModule.blocks(cout * lOut), block: 256, [
                .ptr(x.address), .ptr(w.address), .ptr(b == nil ? 0 : c.inputs[2].address), .ptr(c.out.address),
                .int(cin), .int(len), .int(cout), .int(k), .int(stride), .int(padding), .int(lOut)])
        }
    }

    /// conv1d's GEMM form on (the default); OMNI_CUDA_CONV_GEMM=0 runs every conv1d on the direct kernel (A/B).
    static let convGemm = ProcessInfo.processInfo.environment["OMNI_CUDA_CONV_GEMM"] != "0"

    /// OMNI_CUDA_CONV_CHUNK=N caps a conv1d GEMM at N output positions at a time (to exercise the chunking).
    static let convChunkCap = Int(ProcessInfo.processInfo.environment["OMNI_CUDA_CONV_CHUNK"] ?? "") ?? Int.max

    /// Whether a conv1d takes the GEMM form (the executor and `CUDARunMemory` ask the same question).
    static func usesConvGemm(groups: Int, cout: Int, lOut: Int) -> Bool { convGemm && groups == 1 && cout >= 16 && lOut >= 16 }

    /// Output positions a conv1d GEMM unrolls at once: its columns ([n, cin·k] f32) stay under 64 MiB.
    static func convChunk(cin: Int, k: Int, lOut: Int) -> Int { max(1, min(lOut, convChunkCap, (64 << 20) / max(cin * k * 4, 1))) }

    /// conv1d (groups 1) as im2col + cuBLASLt SGEMM: for each chunk of output positions, the input unrolled into
    /// cols [n, cin·k] (`omni_im2col1d_f32`, GEMM scratch), then y[:, l0 ..< l0 + n] = W [cout, cin·k] · colsᵀ
    /// written in place with y's row stride, then the bias by rows. f32 throughout (the weight is f32 on the device);
    /// the same products as the direct kernel, summed in cuBLAS's order: the direct kernel's one output a thread ran
    /// the audio tower's 1280-channel convolutions at a few TFLOP/s.
    static func conv1dGemm(_ c: CUDAKernelCall, cin: Int, len: Int, cout: Int, k: Int, stride: Int, padding: Int,
                           dilation: Int, lOut: Int, bias: Tensor?) throws {
        let x = c.inputs[0], w = c.inputs[1], kk = cin * k
        let chunk = convChunk(cin: cin, k: k, lOut: lOut)
        let cols = try c.executor.f32Input(elements: chunk * kk)
        for l0 in Swift.stride(from: 0, to: lOut, by: chunk) {
            let n = min(chunk, lOut - l0)
            try c.module.launch("omni_im2col1d_f32", grid: CUDAModule.blocks(n * kk), block: 256, [
                .ptr(x.address), .ptr(cols), .int(cin), .int(len), .int(k), .int(stride), .int(padding), .int(dilation),
                .int(l0), .int(n)])
            try c.executor.blas.matmul(x: w.address, w: cols, y: c.out.address + UInt64(l0 * 4), rows: cout, inF: kk,
                                       outF: n, type: 0, ldy: lOut)
        }
        if let b = bias {
            try c.module.launch("omni_add_row_bias_f32", grid: CUDAModule.blocks(cout * lOut), block: 256, [
                .ptr(c.out.address), .ptr(b.address), .int(cout), .int(lOut)])
        }
    }
}
