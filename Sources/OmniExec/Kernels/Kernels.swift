import CKernels
import Foundation
import OmniCore

/// CPU kernels for the executor's ops. Activations are contiguous f32 [rows, features].
enum Kernels {
    /// out[t] = table[ids[t]] widened to f32.
    static func embedding(table: Tensor, ids: Tensor, out: Tensor, converter registry: PluginRegistry) throws {
        let d = table.shape[1], v = table.shape[0]
        let idList = try ids.int64s()
        for (t, id) in idList.enumerated() where id < 0 || id >= v {
            throw OmniError.invalidArgument(name: "input_ids", expected: "token ids in 0..<\(v)", actual: "\(id) at position \(t)")
        }
        // A tied table bound for the LM head's decode kernel (rows interleaved by 8): its rows dequantized from there.
        switch table.layout {
        case .q8_0Rows8, .q4_0Rows8:
            let w = table.rawPointer.assumingMemoryBound(to: UInt8.self)
            for (t, id) in idList.enumerated() {
                let row = out.floatPointer + t * d, r = Int(id)
                if table.layout == .q8_0Rows8 { omni_q8_0_r8_dequantize_rows(w, row, d, r, r + 1) }
                else { omni_q4_0_r8_dequantize_rows(w, row, d, r, r + 1) }
            }
            return
        case .standard:
            break
        }
        let conv = try registry.converter(from: table.dtype, to: .f32)
        let rowBytes = table.dtype.byteCount(elements: d) ?? 0
        for (t, id) in idList.enumerated() {
            try conv.convert(table.rawPointer + Int(id) * rowBytes, from: table.dtype,
                             to: UnsafeMutableRawPointer(out.floatPointer + t * d), .f32, count: d)
        }
    }

    /// RMSNorm per row; row blocks on the pool. A row costs ~2 ns a value (its sum of squares is one serial chain
    /// of double additions), so a batched decode step's few rows (8 × 896) already pay for a parallel region.
    static func rmsNorm(x: Tensor, weight: Tensor, eps: Float, out: Tensor) throws {
        let d = x.shape[-1], rows = x.elementCount / d
        let xp = x.floatPointer, yp = out.floatPointer, wp = weight.floatPointer
        let blocks = split(rows, parts: rows * d >= 1 << 12 ? max(rowBlocks(rows, width: d), min(rows, poolThreads)) : 1)
        try parallelFor(blocks.count) { j in
            for r in blocks[j] { omni_rmsnorm_row(xp + r * d, wp, nil, yp + r * d, d, eps) }
        }
    }

    /// How many blocks a row-wise kernel over rows × width floats is cut into: one below 64 Ki floats (a decode
    /// step), else four per pool thread (dynamic hand-out, so a core slowed by another process does less).
    static func rowBlocks(_ rows: Int, width: Int) -> Int { rows * width >= 1 << 16 ? min(rows, poolThreads * 4) : 1 }

    /// LayerNorm per row (biased variance, two passes), optional affine; row blocks on the pool.
    static func layerNorm(x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, out: Tensor) throws {
        let d = x.shape[-1], rows = x.elementCount / d
        let xp = x.floatPointer, yp = out.floatPointer
        let wp = weight?.floatPointer, bp = bias?.floatPointer
        let blocks = split(rows, parts: rowBlocks(rows, width: d))
        try parallelFor(blocks.count) { j in
            for r in blocks[j] { omni_layernorm_row(xp + r * d, wp, bp, yp + r * d, d, eps) }
        }
    }

    /// a + b; b may be a [D] row broadcast over a's rows. Blocks on the pool above 64 Ki floats.
    static func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        let ap = a.floatPointer, bp = b.floatPointer, yp = out.floatPointer
        try broadcastBlocks(a.elementCount, b.elementCount) { r, bOff in
            for i in r { yp[i] = ap[i] + bp[i - bOff] }
        }
    }

    /// a ⊙ b (b the same size, or one row broadcast over a's rows). Blocks on the pool above 64 Ki floats.
    static func mul(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        let ap = a.floatPointer, bp = b.floatPointer, yp = out.floatPointer
        try broadcastBlocks(a.elementCount, b.elementCount) { r, bOff in
            for i in r { yp[i] = ap[i] * bp[i - bOff] }
        }
    }

    /// Cuts an elementwise op over n elements of a and bn of b (bn == n, or a row of bn broadcast over n / bn rows)
    /// into spans on the pool: `body(span, bOffset)` handles a[span] with b[i − bOffset] for each i of the span, so
    /// its inner loop has no modulo (and vectorizes).
    @inline(__always)
    static func broadcastBlocks(_ n: Int, _ bn: Int, _ body: (Range<Int>, Int) -> Void) throws {
        if bn == n || bn <= 1 {
            let blocks = split(n, parts: rowBlocks(n, width: 1), multiple: 64)
            try parallelFor(blocks.count) { j in
                if bn == n { body(blocks[j], 0) } else { for i in blocks[j] { body(i..<(i + 1), i) } }
            }
            return
        }
        let rows = n / bn
        let blocks = split(rows, parts: rowBlocks(rows, width: bn))
        try parallelFor(blocks.count) { j in
            for r in blocks[j] { body((r * bn)..<((r + 1) * bn), r * bn) }
        }
    }

    /// x · sigmoid(x).
    static func silu(_ x: Tensor, out: Tensor) {
        let xp = x.floatPointer, yp = out.floatPointer
        for i in 0..<x.elementCount { yp[i] = xp[i] / (1 + Foundation.exp(-xp[i])) }
    }

    /// silu(gate) ⊙ up; blocks on the pool.
    static func swiglu(gate: Tensor, up: Tensor, out: Tensor) throws {
        let n = gate.elementCount, g = gate.floatPointer, u = up.floatPointer, y = out.floatPointer
        // A batched decode step's rows (8 × 4864) already pay for a parallel region (~0.6 ns a value).
        let blocks = split(n, parts: n >= 1 << 14 ? max(rowBlocks(n, width: 1), poolThreads) : 1, multiple: 64)
        try parallelFor(blocks.count) { j in
            let r = blocks[j]
            omni_swiglu(g + r.lowerBound, u + r.lowerBound, y + r.lowerBound, r.count)
        }
    }

    /// GELU: exact 0.5x(1 + erf(x/√2)) or tanh form 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (CKernels' omni_gelu:
    /// vectorized, erf within 1.5e-7); blocks on the pool.
    static func gelu(_ x: Tensor, tanh useTanh: Bool, out: Tensor) throws {
        let n = x.elementCount, xp = x.floatPointer, yp = out.floatPointer
        let blocks = split(n, parts: rowBlocks(n, width: 1), multiple: 64)
        try parallelFor(blocks.count) { j in
            let r = blocks[j]
            omni_gelu(xp + r.lowerBound, yp + r.lowerBound, r.count, useTanh ? 1 : 0)
        }
    }

    /// Rotary embedding, half-split (`rotate_half`) convention: dims (j, j + hd/2) rotate by θ_j = pos · θ^(−2j/hd).
    /// For M-RoPE, frequency j takes its position from row s(j) of positions [3, T], where s walks `sections`.
    static func rope(x: Tensor, positions: Tensor, heads: Int, headDim: Int, theta: Float, kind: RopeKind,
                     out: Tensor) throws {
        let t = x.shape[0], half = headDim / 2, width = heads * headDim
        let pos = try positions.int64s()
        var rowOf = [Int](repeating: 0, count: half)
        switch kind {
        case .standard, .interleaved:
            guard pos.count == t else {
                throw OmniError.invalidArgument(name: "position_ids", expected: "\(t) positions", actual: "\(pos.count)")
            }
        case let .multimodal(sections):
            guard pos.count == 3 * t else {
                throw OmniError.invalidArgument(name: "position_ids", expected: "[3, \(t)]", actual: "\(positions.shape)")
            }
            var j = 0
            for (r, s) in sections.enumerated() { for _ in 0..<s where j < half { rowOf[j] = r; j += 1 } }
        case .axial2D:
            guard pos.count == 2 * t else {
                throw OmniError.invalidArgument(name: "position_ids", expected: "[2, \(t)]", actual: "\(positions.shape)")
            }
            for j in 0..<half { rowOf[j] = j < half / 2 ? 0 : 1 }
        }
        var inv = [Float](repeating: 0, count: half)
        if case .axial2D = kind {
            // inv_freq over dim hd/2: 1 / θ^(2j'/(hd/2)) for j' < hd/4, used once for y and once for x.
            for j in 0..<half { inv[j] = 1 / Foundation.pow(theta, Float(2 * (j % (half / 2))) / Float(half)) }
        } else {
            for j in 0..<half { inv[j] = 1 / Foundation.pow(theta, Float(2 * j) / Float(headDim)) }
        }
        let xp = x.floatPointer, yp = out.floatPointer
        var cs = [Float](repeating: 0, count: half), sn = [Float](repeating: 0, count: half)
        for i in 0..<t {
            for j in 0..<half {
                let p: Int64
                switch kind {
                case .standard, .interleaved: p = pos[i]
                default: p = pos[rowOf[j] * t + i]
                }
                let angle = Float(p) * inv[j]
                cs[j] = Foundation.cos(angle)
                sn[j] = Foundation.sin(angle)
            }
            let pairStride = kind == .interleaved ? 2 : 1, partner = kind == .interleaved ? 1 : half
            for h in 0..<heads {
                let src = xp + i * width + h * headDim, dst = yp + i * width + h * headDim
                for j in 0..<half {
                    let ia = j * pairStride, ib = ia + partner
                    let a = src[ia], b = src[ib]
                    dst[ia] = a * cs[j] - b * sn[j]
                    dst[ib] = b * cs[j] + a * sn[j]
                }
            }
        }
    }
}
