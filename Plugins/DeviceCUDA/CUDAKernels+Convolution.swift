import OmniCore

extension CUDAKernels {
    /// conv1d and convTranspose1d as direct kernels (kernels/conv.cu); weights widened to f32 at upload.
    static func registerConvolution(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats
        t.register(.conv1d, dtypes: f) { c in
            guard case let .conv1d(_, _, b, stride, padding, dilation, groups) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], w = c.inputs[1]
            let cin = x.shape[0], len = x.shape[1], cout = w.shape[0], k = w.shape[2], lOut = c.out.shape[1]
            guard cin % groups == 0, cout % groups == 0, w.shape[1] == cin / groups else {
                throw OmniError.invalidArgument(name: c.node.name, expected: "weight [\(cout), \(cin / max(groups, 1)), K]", actual: "\(w.shape)")
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
}
