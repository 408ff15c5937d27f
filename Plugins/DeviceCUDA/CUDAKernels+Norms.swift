import Foundation
import OmniCore

extension CUDAKernels {
    /// rmsNorm, layerNorm, softmax: one block per row (kernels/norm.cu).
    static func registerNorms(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats
        t.register(.rmsNorm, dtypes: f) { c in
            guard case let .rmsNorm(_, _, eps) = c.node.op else { throw c.mismatch() }
            let d = c.out.shape.dims.last ?? 1, rows = c.out.elementCount / max(d, 1)
            try c.module.launch("omni_rms_norm_f32", grid: rows, block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.inputs[1].address), .ptr(c.out.address), .int(d), .f32(eps),
                                 .int(normInRegisters ? 1 : 0)])
        }
        t.register(.layerNorm, dtypes: f) { c in
            guard case let .layerNorm(_, w, b, eps) = c.node.op else { throw c.mismatch() }
            let d = c.out.shape.dims.last ?? 1, rows = c.out.elementCount / max(d, 1)
            let wp = w == nil ? 0 : c.inputs[1].address
            let bp = b == nil ? 0 : c.inputs[w == nil ? 1 : 2].address
            try c.module.launch("omni_layer_norm_f32", grid: rows, block: 256,
                                [.ptr(c.inputs[0].address), .ptr(wp), .ptr(bp), .ptr(c.out.address), .int(d), .f32(eps)])
        }
        t.register(.softmax, dtypes: f) { c in
            let d = c.out.shape.dims.last ?? 1, rows = c.out.elementCount / max(d, 1)
            try c.module.launch("omni_softmax_f32", grid: rows, block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .int(d)])
        }
    }

    /// Whether the RMSNorm kernels may hold a row in registers (all loads in flight at once; the same values bit for
    /// bit): on by default, `OMNI_CUDA_NORM_REGS=0` keeps the loop of dependent loads (for A/B runs).
    static let normInRegisters = ProcessInfo.processInfo.environment["OMNI_CUDA_NORM_REGS"] != "0"
}
