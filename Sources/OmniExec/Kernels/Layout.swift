import CBLAS
import CKernels
import OmniCore

extension Kernels {
    /// Softmax over the last axis: exp(x − max) / Σ, in f32.
    static func softmax(_ x: Tensor, out: Tensor) {
        let d = x.shape[-1], rows = x.elementCount / max(d, 1)
        let xp = x.floatPointer, yp = out.floatPointer
        for r in 0..<rows {
            let y = yp + r * d
            y.update(from: xp + r * d, count: d)
            let s = omni_exp_sub_sum(y, d, omni_max(y, d))
            omni_scale(y, 1 / s, d)
        }
    }

    /// out[i] = x[indices[i]] (x [T, D] contiguous f32).
    static func gatherRows(_ x: Tensor, _ indices: [Int], out: Tensor) {
        let d = x.shape[-1], xp = x.floatPointer, yp = out.floatPointer
        for (i, r) in indices.enumerated() { (yp + i * d).update(from: xp + r * d, count: d) }
    }

    /// out[r] = mean of x rows r·window ..< (r+1)·window (x [T, D] contiguous f32, out [T / window, D]).
    static func poolRows(_ x: Tensor, window: Int, out: Tensor) {
        let d = x.shape[-1], rows = out.shape[0]
        let xp = x.floatPointer, yp = out.floatPointer
        let scale = 1 / Float(window)
        for r in 0..<rows {
            let y = yp + r * d
            y.update(from: xp + r * window * d, count: d)
            for k in 1..<max(window, 1) { omni_axpy(y, xp + (r * window + k) * d, 1, d) }
            omni_scale(y, scale, d)
        }
    }

    /// Copies a (possibly strided) f32 view into the contiguous `out`. A view whose last axis is dense (a column
    /// slice: the DiT's first head, AdaLN chunks) is copied row by row, without an intermediate contiguous copy.
    static func copy(_ x: Tensor, into out: Tensor) {
        let dims = x.shape.dims
        guard !x.isContiguous, dims.count >= 2, x.strides[dims.count - 1] == 1, !x.dtype.isQuantized,
              let last = dims.last, last > 0 else {
            x.withContiguousBytes { out.mutableRawPointer.copyMemory(from: $0, byteCount: x.byteCount) }
            return
        }
        let size = x.dtype.blockBytes, rowBytes = last * size, outer = dims.count - 1
        let src = x.rawPointer, dst = out.mutableRawPointer
        var index = [Int](repeating: 0, count: outer)
        for r in 0..<(x.elementCount / last) {
            var off = 0
            for d in 0..<outer { off += index[d] * x.strides[d] }
            (dst + r * rowBytes).copyMemory(from: src + off * size, byteCount: rowBytes)
            var d = outer - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < dims[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Concatenation along `axis`: for every outer index, the inputs' blocks one after another.
    static func concat(_ xs: [Tensor], axis: Int, out: Tensor) {
        let dims = out.shape.dims
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        var dst = out.floatPointer
        for o in 0..<outer {
            for x in xs {
                let n = x.shape[axis] * inner
                dst.update(from: x.floatPointer + o * n, count: n)
                dst += n
            }
        }
    }

    /// 1-D convolution: out[co, l] = Σ_{ci,k} W[co, ci, k] · x[ci, l·s − p + k·d] + b[co], on the kernel pool.
    ///
    /// Stride 1 with at least `shiftedMinChannels` input channels (BigVGAN's wide convolutions, the audio tower's
    /// first): k GEMMs per column tile, out += W[:, :, kk] · x_padded[:, tile + kk·d], with no im2col matrix at all.
    /// Otherwise im2col, in column tiles of about `convTileFloats` when the whole matrix would pass
    /// `im2colWholeFloats` (BigVGAN's narrow stages: 24 channels × 240 000 samples), else whole with the GEMM split
    /// by output rows (the audio tower's stride-2 conv). The bias is written into `out` first (GEMM beta = 1).
    /// `convolutionThreading` picks the older whole-im2col paths instead (for `omni bench conv`).
    static func conv1d(x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, dilation: Int,
                       groups: Int, out: Tensor) throws {
        let cin = x.shape[0], cout = weight.shape[0], k = weight.shape[2], lOut = out.shape[1]
        let c = ConvShape(cin: cin, len: x.shape[1], cout: cout, k: k, lOut: lOut, stride: stride, padding: padding,
                          dilation: dilation, groups: groups)
        let xp = x.floatPointer, wp = weight.floatPointer, yp = out.floatPointer, bp = bias?.floatPointer
        switch convolutionThreading {
        case .pool where stride == 1 && groups == 1 && cin >= shiftedMinChannels && k > 1:
            try convShifted(c, xp, wp, bp, yp)
        case .pool where c.cg * k * lOut > im2colWholeFloats:
            try convTiled(c, xp, wp, bp, yp)
        default:
            try convWhole(c, xp, wp, bp, yp)
        }
    }

    /// Fewest input channels for the shifted-GEMM path (K = cin per GEMM; narrower GEMMs run below the ceiling).
    static let shiftedMinChannels = 64
    /// Largest whole im2col matrix (floats) before the tiled path takes over (tests shrink it to reach that path).
    nonisolated(unsafe) static var im2colWholeFloats = 1 << 23
    /// Floats of one im2col tile or output tile (1 MiB: stays in L2 while its GEMM runs; tests shrink it).
    nonisolated(unsafe) static var convTileFloats = 1 << 18

    /// The dimensions of one conv1d call.
    struct ConvShape {
        let cin, len, cout, k, lOut, stride, padding, dilation, groups: Int
        var cg: Int { cin / groups }
        var og: Int { cout / groups }
    }

    /// Writes bias[co] (or 0) into columns `cols` of rows `rows` of y [cout, lOut].
    static func fillBias(_ c: ConvShape, _ bp: UnsafeMutablePointer<Float>?, _ yp: UnsafeMutablePointer<Float>,
                         rows: Range<Int>, cols: Range<Int>) {
        for co in rows { (yp + co * c.lOut + cols.lowerBound).update(repeating: bp?[co] ?? 0, count: cols.count) }
    }

    /// im2col of group g, input channels `channels` (within the group), output columns `cols`, into
    /// dst [(ci, kk), cols.count] (zero outside x).
    static func im2col(_ c: ConvShape, _ xp: UnsafeMutablePointer<Float>, group g: Int, channels: Range<Int>, cols: Range<Int>,
                       into dst: UnsafeMutablePointer<Float>) {
        let n = cols.count
        for ci in channels {
            let src = xp + (g * c.cg + ci) * c.len
            for kk in 0..<c.k {
                let row = dst + (ci * c.k + kk) * n
                let shift = kk * c.dilation - c.padding   // x index of output column l: l·s + shift
                if c.stride == 1 {
                    // Columns whose x index is inside [0, len): l in [−shift, len − shift).
                    let lo = min(max(-shift - cols.lowerBound, 0), n), hi = max(min(c.len - shift - cols.lowerBound, n), lo)
                    row.update(repeating: 0, count: lo)
                    if hi > lo { (row + lo).update(from: src + cols.lowerBound + lo + shift, count: hi - lo) }
                    (row + hi).update(repeating: 0, count: n - hi)
                } else {
                    for l in 0..<n {
                        let pos = (cols.lowerBound + l) * c.stride + shift
                        row[l] = pos >= 0 && pos < c.len ? src[pos] : 0
                    }
                }
            }
        }
    }

    /// Stride 1, one group: x copied once with its zero padding, W regrouped as [k][cout][cin]; per column tile (its
    /// output block stays in cache across the k GEMMs) out[:, tile] += W_kk · x_padded[:, tile + kk·d].
    static func convShifted(_ c: ConvShape, _ xp: UnsafeMutablePointer<Float>, _ wp: UnsafeMutablePointer<Float>,
                            _ bp: UnsafeMutablePointer<Float>?, _ yp: UnsafeMutablePointer<Float>) throws {
        let width = c.len + 2 * c.padding, k = c.k, cin = c.cin, cout = c.cout
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: cin * width)
        let wk = UnsafeMutablePointer<Float>.allocate(capacity: k * cout * cin)
        defer { padded.deallocate(); wk.deallocate() }
        let blocks = split(max(cin, cout), parts: poolThreads * 4)
        try parallelFor(blocks.count) { part in
            for ci in blocks[part] where ci < cin {
                let dst = padded + ci * width
                dst.update(repeating: 0, count: c.padding)
                (dst + c.padding).update(from: xp + ci * c.len, count: c.len)
                (dst + c.padding + c.len).update(repeating: 0, count: c.padding)
            }
            for co in blocks[part] where co < cout {
                let src = wp + co * cin * k
                for ci in 0..<cin { for kk in 0..<k { wk[(kk * cout + co) * cin + ci] = src[ci * k + kk] } }
            }
        }
        let tile = min(c.lOut, max(16, (convTileFloats / max(cout, 1) + 15) / 16 * 16))
        let tiles = Swift.stride(from: 0, to: c.lOut, by: tile).map { $0..<min(c.lOut, $0 + tile) }
        try parallelFor(tiles.count) { j in
            let cols = tiles[j]
            fillBias(c, bp, yp, rows: 0..<cout, cols: cols)
            for kk in 0..<k {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(cols.count), Int32(cin), 1,
                            wk + kk * cout * cin, Int32(cin), padded + kk * c.dilation + cols.lowerBound, Int32(width), 1,
                            yp + cols.lowerBound, Int32(c.lOut))
            }
        }
    }

    /// im2col in column tiles of about `convTileFloats`, each task with its own tile buffer and GEMM.
    static func convTiled(_ c: ConvShape, _ xp: UnsafeMutablePointer<Float>, _ wp: UnsafeMutablePointer<Float>,
                          _ bp: UnsafeMutablePointer<Float>?, _ yp: UnsafeMutablePointer<Float>) throws {
        let depth = c.cg * c.k
        let tile = min(c.lOut, max(16, (convTileFloats / max(depth, 1) + 15) / 16 * 16))
        let tiles = Swift.stride(from: 0, to: c.lOut, by: tile).map { $0..<min(c.lOut, $0 + tile) }
        let slotCount = max(1, min(poolThreads, tiles.count))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: slotCount * depth * tile)
        defer { buffer.deallocate() }
        let free = SlotList(count: slotCount)
        try parallelFor(tiles.count) { j in
            let cols = tiles[j], slot = free.take()
            defer { free.give(slot) }
            let cbuf = buffer + slot * depth * tile
            fillBias(c, bp, yp, rows: 0..<c.cout, cols: cols)
            for g in 0..<c.groups {
                im2col(c, xp, group: g, channels: 0..<c.cg, cols: cols, into: cbuf)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(c.og), Int32(cols.count), Int32(depth), 1,
                            wp + g * c.og * depth, Int32(depth), cbuf, Int32(cols.count), 1,
                            yp + g * c.og * c.lOut + cols.lowerBound, Int32(c.lOut))
            }
        }
    }

    /// The whole im2col matrix per group (built on the pool), its GEMM split by output rows (`convGEMM`).
    static func convWhole(_ c: ConvShape, _ xp: UnsafeMutablePointer<Float>, _ wp: UnsafeMutablePointer<Float>,
                          _ bp: UnsafeMutablePointer<Float>?, _ yp: UnsafeMutablePointer<Float>) throws {
        let depth = c.cg * c.k, lOut = c.lOut
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: depth * lOut)
        defer { cols.deallocate() }
        let rowBlocks = split(c.cout, parts: poolThreads)
        try parallelFor(rowBlocks.count) { fillBias(c, bp, yp, rows: rowBlocks[$0], cols: 0..<lOut) }
        for g in 0..<c.groups {
            let channelBlocks = split(c.cg, parts: poolThreads)
            try parallelFor(channelBlocks.count) {
                let r = channelBlocks[$0]
                im2col(c, xp, group: g, channels: r, cols: 0..<lOut, into: cols)
            }
            try convGEMM(rows: c.og) { r in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r.count), Int32(lOut), Int32(depth), 1,
                            wp + (g * c.og + r.lowerBound) * depth, Int32(depth), cols, Int32(lOut), 1,
                            yp + (g * c.og + r.lowerBound) * lOut, Int32(lOut))
            }
        }
    }

    /// How convolutions spread their GEMMs over the cores (see `Executor.convolutionThreading`).
    nonisolated(unsafe) static var convolutionThreading = ConvolutionThreading.pool

    /// Runs a GEMM over `rows` output rows on every core: split into row blocks on the kernel pool (OpenBLAS
    /// single-threaded, as everywhere else), or in one call with OpenBLAS given the cores for its duration.
    static func convGEMM(rows: Int, _ gemm: (Range<Int>) -> Void) throws {
        switch convolutionThreading {
        case .pool, .wholeIm2col:
            let parts = split(rows, parts: poolThreads, multiple: 8)
            try parallelFor(parts.count) { gemm(parts[$0]) }
        case .openBLAS:
            openblas_set_num_threads(Int32(poolThreads))
            defer { openblas_set_num_threads(1) }
            gemm(0..<rows)
        }
    }
}

/// How convolution GEMMs use the cores.
public enum ConvolutionThreading: String, Sendable, CaseIterable {
    /// On the executor's thread pool, OpenBLAS on one thread (the default): shifted GEMMs without im2col for wide
    /// stride-1 convolutions, im2col in column tiles for long narrow ones, else the whole im2col split by rows.
    case pool
    /// Always the whole im2col matrix, its GEMM split into row blocks on the pool (the path before stop 20).
    case wholeIm2col = "im2col"
    /// The whole im2col matrix, one GEMM call with OpenBLAS raised to the executor's threads around it.
    case openBLAS = "openblas"
}
