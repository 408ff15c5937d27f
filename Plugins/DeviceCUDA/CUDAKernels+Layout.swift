import OmniCore

extension CUDAKernels {
    /// embedding, rope, rows, poolRows, gatherRows, reshape, concat, slice, permute, reflectPad (kernels/layout.cu,
    /// kernels/rope.cu).
    static func registerLayout(into t: inout CUDAKernelTable) {
        let f = CUDAKernelTable.floats, fi = f.union([.i64])
        t.register(.embedding, dtypes: fi) { c in
            let table = c.inputs[0], ids = c.inputs[1]
            let vocab = table.shape[0], d = table.shape[table.shape.rank - 1], n = ids.elementCount
            if let host = c.executor.hostInput(of: c.node.op.inputs[1]) {
                let values = try host.int64s()
                if let bad = values.first(where: { $0 < 0 || $0 >= Int64(vocab) }) {
                    throw OmniError.invalidArgument(name: "\(c.node.name) ids", expected: "0..<\(vocab)", actual: "\(bad)")
                }
            }
            let name = table.dtype == .bf16 ? "omni_embedding_bf16" : "omni_embedding_f32"
            try c.module.launch(name, grid: CUDAModule.blocks(n * d), block: 256,
                                [.ptr(table.address), .ptr(ids.address), .ptr(c.out.address), .long(n), .int(d)])
        }
        t.register(.rope, dtypes: fi) { c in
            guard case let .rope(_, _, heads, hd, theta, kind) = c.node.op else { throw c.mismatch() }
            let rows = c.out.shape[0], pos = c.inputs[1], posRows = kind.positionRows
            guard pos.elementCount == posRows * rows else {
                throw OmniError.invalidArgument(name: "position_ids", expected: posRows == 1 ? "\(rows) positions" : "[\(posRows), \(rows)]",
                                                actual: "\(pos.shape)")
            }
            let table = try c.executor.ropeTable(headDim: hd, theta: theta, kind: kind)
            try c.module.launch("omni_rope_f32", grid: CUDAModule.blocks(rows * heads * hd / 2), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(pos.address), .ptr(table.inv.address), .ptr(table.rowOf.address),
                                 .ptr(c.out.address), .int(rows), .int(heads), .int(hd), .int(kind == .interleaved ? 1 : 0)])
        }
        t.register(.rows, dtypes: f) { c in
            guard case let .rows(_, range) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], rowBytes = x.byteCount / max(x.shape[0], 1)
            try c.executor.context.copy(from: x.address + UInt64(range.lowerBound * rowBytes), to: c.out.address,
                                        bytes: range.count * rowBytes)
        }
        t.register(.poolRows, dtypes: f) { c in
            guard case let .poolRows(_, window) = c.node.op else { throw c.mismatch() }
            let d = c.out.shape[1], rows = c.out.shape[0]
            try c.module.launch("omni_pool_rows_f32", grid: CUDAModule.blocks(rows * d), block: 256,
                                [.ptr(c.inputs[0].address), .ptr(c.out.address), .long(rows), .int(d), .int(window)])
        }
        t.register(.gatherRows, dtypes: f) { c in
            guard case let .gatherRows(_, indices) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], d = x.elementCount / max(x.shape[0], 1)
            guard let bad = indices.first(where: { $0 < 0 || $0 >= x.shape[0] }) else {
                let idx = try c.executor.constant(indices.map { Int32($0) })
                try c.module.launch("omni_gather_rows_f32", grid: CUDAModule.blocks(indices.count * d), block: 256,
                                    [.ptr(x.address), .ptr(idx.address), .ptr(c.out.address), .long(indices.count), .int(d)])
                return
            }
            throw OmniError.invalidArgument(name: "\(c.node.name) index", expected: "0..<\(x.shape[0])", actual: "\(bad)")
        }
        t.register(.reshape, dtypes: fi) { c in
            guard case let .reshape(x, shape) = c.node.op else { throw c.mismatch() }
            let src = c.inputs[0]
            if c.graph[x].op.isWeight {
                c.view = Tensor(storage: src.storage, byteOffset: src.byteOffset, shape: shape, dtype: src.dtype)
            } else {
                try c.executor.context.copy(from: src.address, to: c.out.address, bytes: src.byteCount)
            }
        }
        t.register(.concat, dtypes: f) { c in
            guard case let .concat(_, axis) = c.node.op else { throw c.mismatch() }
            let outStrides = c.out.shape.contiguousStrides
            var offset = 0
            for x in c.inputs {
                try copyStrided(c, src: x.address, dst: c.out.address + UInt64(offset * outStrides[axis] * 4), dims: x.shape.dims,
                                srcStrides: x.shape.contiguousStrides, dstStrides: outStrides)
                offset += x.shape[axis]
            }
        }
        t.register(.slice, dtypes: f) { c in
            guard case let .slice(_, axis, range) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], strides = x.shape.contiguousStrides
            try copyStrided(c, src: x.address + UInt64(range.lowerBound * strides[axis] * 4), dst: c.out.address,
                            dims: c.out.shape.dims, srcStrides: strides, dstStrides: c.out.shape.contiguousStrides)
        }
        t.register(.permute, dtypes: f) { c in
            guard case let .permute(_, axes) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], strides = x.shape.contiguousStrides
            try copyStrided(c, src: x.address, dst: c.out.address, dims: c.out.shape.dims, srcStrides: axes.map { strides[$0] },
                            dstStrides: c.out.shape.contiguousStrides)
        }
        t.register(.reflectPad, dtypes: f) { c in
            guard case let .reflectPad(_, left, right) = c.node.op else { throw c.mismatch() }
            let x = c.inputs[0], len = x.shape[x.shape.rank - 1], rows = x.elementCount / max(len, 1)
            try c.module.launch("omni_reflect_pad_f32", grid: CUDAModule.blocks(c.out.elementCount), block: 256,
                                [.ptr(x.address), .ptr(c.out.address), .int(rows), .int(len), .int(left), .int(right)])
        }
    }

    /// dst[view] = src[view] over `dims` (rank ≤ 6) with element strides on each side, 4-byte elements.
    static func copyStrided(_ c: CUDAKernelCall, src: UInt64, dst: UInt64, dims: [Int], srcStrides: [Int], dstStrides: [Int]) throws {
        guard dims.count <= 6 else {
            throw OmniError.unsupported(what: "\(c.node.op.kind) (\(c.node.name)) on \(c.executor.cuda.id)", reasons: ["rank \(dims.count) > 6"])
        }
        let n = dims.reduce(1, *)
        guard n > 0 else { return }
        var view = [Int64](repeating: 1, count: 6) + [Int64](repeating: 0, count: 12)
        for (a, d) in dims.enumerated() {
            view[a] = Int64(d)
            view[6 + a] = Int64(srcStrides[a])
            view[12 + a] = Int64(dstStrides[a])
        }
        let bytes = view.withUnsafeBytes { Array($0) }
        try c.module.launch("omni_copy_strided_b32", grid: CUDAModule.blocks(n), block: 256,
                            [.ptr(src), .ptr(dst), .long(n), .int(dims.count), .bytes(bytes)])
    }
}
