import OmniCore

extension CUDAKernels {
    /// add, mul, scale, silu, swiglu, gelu, unary, and fused ops that bring a CUDA kernel (kernels/elementwise.cu).
    static func registerElementwise(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats
        func binary(_ name: String) -> CUDAKernelTable.Kernel {
            { c in
                let n = c.out.elementCount, bn = c.inputs[1].elementCount
                guard bn > 0, n % bn == 0, c.inputs[0].elementCount == n else {
                    throw OmniError.invalidArgument(name: c.node.name, expected: "operands of \(c.out.shape) or a row of it",
                                                    actual: "\(c.inputs[0].shape) and \(c.inputs[1].shape)")
                }
                try c.module.launch(name, grid: CUDAModule.blocks(n), block: 256,
                                    [.ptr(c.inputs[0].address), .ptr(c.inputs[1].address), .ptr(c.out.address), .long(n), .long(bn)])
            }
        }
        t.register(.add, dtypes: f, binary("omni_add_f32"))
        t.register(.mul, dtypes: f, binary("omni_mul_f32"))
        t.register(.scale, dtypes: f) { c in
            guard case let .scale(_, factor) = c.node.op else { throw c.mismatch() }
            let n = c.out.elementCount
            try c.module.launch("omni_scale_f32", grid: CUDAModule.blocks(n), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .long(n), .f32(factor)])
        }
        t.register(.silu, dtypes: f) { c in
            let n = c.out.elementCount
            try c.module.launch("omni_silu_f32", grid: CUDAModule.blocks(n), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .long(n)])
        }
        t.register(.swiglu, dtypes: f) { c in
            let n = c.out.elementCount
            try c.module.launch("omni_swiglu_f32", grid: CUDAModule.blocks(n), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.inputs[1].address), .ptr(c.out.address), .long(n)])
        }
        t.register(.gelu, dtypes: f) { c in
            guard case let .gelu(_, tanh) = c.node.op else { throw c.mismatch() }
            let n = c.out.elementCount
            try c.module.launch("omni_gelu_f32", grid: CUDAModule.blocks(n), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .long(n), .int(tanh ? 1 : 0)])
        }
        t.register(.unary, dtypes: f) { c in
            guard case let .unary(_, kind) = c.node.op else { throw c.mismatch() }
            let (code, floor): (Int, Float)
            switch kind {
            case .relu: (code, floor) = (0, 0)
            case .sigmoid: (code, floor) = (1, 0)
            case .tanh: (code, floor) = (2, 0)
            case let .sqrt(fl): (code, floor) = (3, fl)
            }
            let n = c.out.elementCount
            try c.module.launch("omni_unary_f32", grid: CUDAModule.blocks(n), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .long(n), .int(code), .f32(floor)])
        }
        // A fused op runs its own CUDA kernel (inputs on the device, weights widened to f32 at upload): CUDA C source
        // that the executor compiles once (cached like the built-in kernels) and launches, or a closure.
        t.register(.fused, dtypes: f) { c in
            guard case let .fused(op, _) = c.node.op else { throw c.mismatch() }
            guard let kernel = op.op.kernel(for: "cuda") else {
                throw OmniError.unsupported(what: "\(op) (\(c.node.name)) on \(c.executor.cuda.id)", reasons: ["the op has no CUDA kernel"])
            }
            guard let src = kernel.source else { return try kernel.run(c.inputs, c.out, 1) }
            let shapes = c.inputs.map(\.shape), items = src.items(shapes, c.out.shape)
            let module = try c.executor.sourceModule(src.text)
            try module.launch(src.entry, grid: CUDAModule.blocks(items), block: 256,
                              c.inputs.map { .ptr($0.address) } + [.ptr(c.out.address)] + src.scalars(shapes, c.out.shape).map { .i32($0) })
        }
    }
}
