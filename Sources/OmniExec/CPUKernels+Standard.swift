import OmniCore

extension CPUKernelTable {
    /// Weight dtypes the CPU computes with (widened on use), and activations (f32).
    static let floats: Set<DType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_k, .q6_k]

    /// The CPU's kernel for every op kind.
    static let standard: CPUKernelTable = {
        var t = CPUKernelTable()
        let f = floats, fi = floats.union([.i64])
        // Inputs and weights are bound by the executor, not computed.
        t.register(.input, dtypes: fi) { _ in }
        t.register(.weight, dtypes: fi) { _ in }
        t.register(.embedding, dtypes: fi) { c in
            try Kernels.embedding(table: c.inputs[0], ids: c.inputs[1], out: c.out, converter: c.executor.registry)
        }
        t.register(.linear, dtypes: f) { c in
            try Kernels.linear(x: c.inputs[0], weight: c.inputs[1], bias: c.inputs.count > 2 ? try c.f32(2) : nil,
                               out: c.out, threads: c.executor.threads, bf16Compute: c.executor.precision == .bf16,
                               scratch: c.executor.scratchPanels)
        }
        t.register(.rmsNorm, dtypes: f) { c in
            guard case let .rmsNorm(_, _, eps) = c.node.op else { throw c.mismatch() }
            try Kernels.rmsNorm(x: c.inputs[0], weight: try c.f32(1), eps: eps, out: c.out)
        }
        t.register(.layerNorm, dtypes: f) { c in
            guard case let .layerNorm(_, w, b, eps) = c.node.op else { throw c.mismatch() }
            try Kernels.layerNorm(x: c.inputs[0], weight: w == nil ? nil : try c.f32(1),
                              bias: b == nil ? nil : try c.f32(w == nil ? 1 : 2), eps: eps, out: c.out)
        }
        t.register(.add, dtypes: f) { c in try Kernels.add(c.inputs[0], c.inputs[1], out: c.out) }
        t.register(.mul, dtypes: f) { c in try Kernels.mul(c.inputs[0], c.inputs[1], out: c.out) }
        t.register(.silu, dtypes: f) { c in Kernels.silu(c.inputs[0], out: c.out) }
        t.register(.swiglu, dtypes: f) { c in try Kernels.swiglu(gate: c.inputs[0], up: c.inputs[1], out: c.out) }
        t.register(.gelu, dtypes: f) { c in
            guard case let .gelu(_, tanh) = c.node.op else { throw c.mismatch() }
            try Kernels.gelu(c.inputs[0], tanh: tanh, out: c.out)
        }
        t.register(.rope, dtypes: fi) { c in
            guard case let .rope(_, _, heads, hd, theta, kind) = c.node.op else { throw c.mismatch() }
            try Kernels.rope(x: c.inputs[0], positions: c.inputs[1], heads: heads, headDim: hd, theta: theta, kind: kind, out: c.out)
        }
        t.register(.attention, dtypes: f) { c in
            guard case let .attention(_, _, _, m, spec) = c.node.op else { throw c.mismatch() }
            let mask = AttentionMask(causal: spec.causal, segments: spec.segments, window: spec.window,
                                     explicit: m == nil ? nil : c.inputs[3].contiguous())
            c.log = try c.executor.attention(q: c.inputs[0], k: c.inputs[1], v: c.inputs[2], mask: mask, spec: spec,
                                             out: c.out, name: c.node.name)
        }
        t.register(.cacheWrite, dtypes: f) { c in
            guard case let .cacheWrite(_, _, slot) = c.node.op else { throw c.mismatch() }
            let cache = try c.executor.requireCache(c.cache, c.node.name)
            let k = c.inputs[0], v = c.inputs[1], rows = k.shape[0], start = cache.length(of: slot)
            try cache.checkAppend(slot: slot, rows: rows, width: k.shape[1])
            guard cache.device == c.executor.cpu.id else {
                throw OmniError.invalidArgument(name: "cache", expected: "a KV cache on \(c.executor.cpu.id)", actual: "\(cache.device)")
            }
            Kernels.copy(k, into: cache.keys(slot).slice(start..<(start + rows)))
            Kernels.copy(v, into: cache.values(slot).slice(start..<(start + rows)))
            cache.commit(slot: slot, count: rows)
        }
        t.register(.cachedAttention, dtypes: f) { c in
            guard case let .cachedAttention(_, _, spec) = c.node.op, let slot = spec.cacheSlot else { throw c.mismatch() }
            let cache = try c.executor.requireCache(c.cache, c.node.name)
            let keys = cache.length(of: slot), rows = c.inputs[0].shape[0]
            let mask = AttentionMask(causal: spec.causal, keyOffset: keys - rows, window: spec.window)
            c.log = try c.executor.attention(q: c.inputs[0], k: cache.keys(slot).slice(0..<keys),
                                             v: cache.values(slot).slice(0..<keys), mask: mask, spec: spec, out: c.out,
                                             name: c.node.name)
        }
        t.register(.rows, dtypes: f) { c in
            guard case let .rows(_, range) = c.node.op else { throw c.mismatch() }
            Kernels.copy(c.inputs[0].slice(range), into: c.out)
        }
        t.register(.poolRows, dtypes: f) { c in
            guard case let .poolRows(_, window) = c.node.op else { throw c.mismatch() }
            Kernels.poolRows(c.inputs[0], window: window, out: c.out)
        }
        t.register(.gatherRows, dtypes: f) { c in
            guard case let .gatherRows(_, indices) = c.node.op else { throw c.mismatch() }
            Kernels.gatherRows(c.inputs[0], indices, out: c.out)
        }
        t.register(.reshape, dtypes: fi) { c in
            guard case let .reshape(x, shape) = c.node.op else { throw c.mismatch() }
            if c.graph[x].op.isWeight {
                c.view = try c.inputs[0].contiguous().reshaped(shape)   // a view of the stored weight
            } else {
                Kernels.copy(c.inputs[0], into: c.out)
            }
        }
        t.register(.softmax, dtypes: f) { c in Kernels.softmax(c.inputs[0], out: c.out) }
        t.register(.concat, dtypes: f) { c in
            guard case let .concat(_, axis) = c.node.op else { throw c.mismatch() }
            Kernels.concat(c.inputs, axis: axis, out: c.out)
        }
        t.register(.slice, dtypes: f) { c in
            guard case let .slice(_, axis, range) = c.node.op else { throw c.mismatch() }
            Kernels.copy(c.inputs[0].sliced(axis: axis, range), into: c.out)
        }
        t.register(.permute, dtypes: f) { c in
            guard case let .permute(_, axes) = c.node.op else { throw c.mismatch() }
            Kernels.copy(c.inputs[0].permuted(axes), into: c.out)
        }
        t.register(.conv1d, dtypes: f) { c in
            guard case let .conv1d(_, _, b, stride, padding, dilation, groups) = c.node.op else { throw c.mismatch() }
            try Kernels.conv1d(x: c.inputs[0], weight: try c.f32(1), bias: b == nil ? nil : try c.f32(2), stride: stride,
                               padding: padding, dilation: dilation, groups: groups, out: c.out)
        }
        t.register(.convTranspose1d, dtypes: f) { c in
            guard case let .convTranspose1d(_, _, b, stride, padding) = c.node.op else { throw c.mismatch() }
            try Kernels.convTranspose1d(x: c.inputs[0], weight: try c.f32(1), bias: b == nil ? nil : try c.f32(2),
                                        stride: stride, padding: padding, out: c.out)
        }
        t.register(.scale, dtypes: f) { c in
            guard case let .scale(_, factor) = c.node.op else { throw c.mismatch() }
            Kernels.scale(c.inputs[0], factor, out: c.out)
        }
        t.register(.unary, dtypes: f) { c in
            guard case let .unary(_, kind) = c.node.op else { throw c.mismatch() }
            Kernels.unary(c.inputs[0], kind, out: c.out)
        }
        t.register(.reflectPad, dtypes: f) { c in
            guard case let .reflectPad(_, left, right) = c.node.op else { throw c.mismatch() }
            Kernels.reflectPad(c.inputs[0], left: left, right: right, out: c.out)
        }
        // Fused ops carry their kernels; the table only widens weights to f32 and hands the op its CPU kernel.
        t.register(.fused, dtypes: f) { c in
            guard case let .fused(op, _) = c.node.op else { throw c.mismatch() }
            guard let kernel = op.op.kernel(for: DeviceID.cpu.kind) else {
                throw OmniError.unsupported(what: "\(op) (\(c.node.name)) on cpu", reasons: ["the op has no CPU kernel"])
            }
            try kernel.run(try (0..<c.inputs.count).map(c.f32), c.out, c.executor.threads)
        }
        return t
    }()
}
