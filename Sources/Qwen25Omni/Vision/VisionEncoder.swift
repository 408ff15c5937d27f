import OmniCore

/// The thinker's vision tower; mirrors `Qwen2_5OmniVisionEncoder` (transformers 5.17.0, OMNI-SPEC §3.5): a
/// Conv3d patch embedding (a matrix product over the processor's flattened patches), blocks of RMSNorm → q/k/v
/// with axial 2-D RoPE → attention that is block-diagonal over 2×2-merge windows (or over whole frames in the
/// `fullatt_block_indexes` blocks) → SwiGLU MLP with biases; then the 2×2 patch merger back in row-major order.
///
/// Describes computation only; an executor runs the graph. Checkpoint names appear only through `scope`.
public struct VisionEncoder: Sendable {
    /// Tower hyper-parameters.
    public let config: VisionConfig
    /// Attention backend chain (`attn_implementation` first, then fallbacks); must support segments.
    public var attention: [String]
    /// Checkpoint scope (`thinker.visual`).
    public let scope: WeightScope

    /// Input names: `pixel_values` [patches, C·T·P·P] f32 in the processor's patch order (the graph reorders the
    /// patches into windows), and the rotary positions [2, patches] i64 (row, column) already in window order.
    public static let pixels = "vision.pixels", positions = "vision.positions"
    /// Output name: [Σ t·h·w / merge², outHiddenSize], items in input order, each row-major over its merged grid.
    public static let embeds = "vision.embeds"
    /// Checkpoint key prefix of the tower.
    public static let keyPrefix = "thinker.visual."
    /// RMSNorm epsilon of the blocks and the merger (hard-coded 1e-6 in the reference).
    static let normEps: Float = 1e-6

    /// A tower for `config`, attending through `attention` (first supported backend wins), reading `scope`.
    public init(config: VisionConfig, attention: [String] = ["eager"], scope: WeightScope = WeightScope("thinker.visual")) {
        self.config = config
        self.attention = attention
        self.scope = scope
    }

    /// One image or video in patch units: t temporal patches, h × w spatial patches (h and w even).
    public struct Grid: Sendable, Hashable {
        /// Temporal patches, patch rows, patch columns.
        public var t: Int, h: Int, w: Int
        /// A grid of t × h × w patches.
        public init(t: Int, h: Int, w: Int) { self.t = t; self.h = h; self.w = w }
        /// t·h·w (callers validate the grid first; see `checkedPatches`).
        public var patches: Int { t * h * w }
        /// The rows of a `*_grid_thw` tensor [n, 3] (any integer dtype); `name` labels errors.
        public static func list(_ thw: Tensor, name: String) throws -> [Grid] {
            guard thw.shape.rank == 2, thw.shape[1] == 3 else {
                throw OmniError.invalidArgument(name: name, expected: "[n, 3] (t, h, w)", actual: "\(thw.shape)")
            }
            let v = try thw.int64s().map { Int(clamping: $0) }
            return stride(from: 0, to: v.count, by: 3).map { Grid(t: v[$0], h: v[$0 + 1], w: v[$0 + 2]) }
        }

        /// t·h·w, or nil when it overflows (a corrupt grid).
        public var checkedPatches: Int? {
            let (th, o1) = t.multipliedReportingOverflow(by: h), (thw, o2) = th.multipliedReportingOverflow(by: w)
            return o1 || o2 ? nil : thw
        }
    }

    var mergeUnit: Int { config.spatialMergeSize * config.spatialMergeSize }

    /// Output tokens of a grid: t·h·w / merge².
    public func tokens(_ g: Grid) -> Int { g.patches / mergeUnit }

    /// The window order of merged tokens and the window boundaries in patches (`get_vision_window_index`), and the
    /// per-frame boundaries in patches for the full-attention blocks.
    func windows(_ grids: [Grid]) -> (order: [Int], windowSegments: [Int], frameSegments: [Int]) {
        let m = config.spatialMergeSize
        let ws = config.windowSize / m / config.patchSize
        var order: [Int] = [], segments = [0], frames = [0], base = 0
        for g in grids {
            let lh = g.h / m, lw = g.w / m
            let nh = (lh + ws - lh % ws) / ws, nw = (lw + ws - lw % ws) / ws
            for t in 0..<g.t {
                for wy in 0..<nh {
                    for wx in 0..<nw {
                        var count = 0
                        for y in (wy * ws)..<min(lh, wy * ws + ws) {
                            for x in (wx * ws)..<min(lw, wx * ws + ws) {
                                order.append(base + t * lh * lw + y * lw + x)
                                count += 1
                            }
                        }
                        if count > 0 { segments.append(segments.last! + count * mergeUnit) }
                    }
                }
                frames.append(frames.last! + g.h * g.w)
            }
            base += g.t * lh * lw
        }
        return (order, segments, frames)
    }

    /// Rotary (row, column) of every patch in the processor's order: merge blocks row-major, 2×2 inside each,
    /// the same list for every temporal slice (`get_vision_position_ids`).
    public func patchPositions(_ grids: [Grid]) -> [[Int64]] {
        let m = config.spatialMergeSize
        var ys: [Int64] = [], xs: [Int64] = []
        for g in grids {
            for _ in 0..<g.t {
                for by in 0..<(g.h / m) {
                    for bx in 0..<(g.w / m) {
                        for dy in 0..<m { for dx in 0..<m { ys.append(Int64(by * m + dy)); xs.append(Int64(bx * m + dx)) } }
                    }
                }
            }
        }
        return [ys, xs]
    }

    /// The graph inputs for processor outputs: `pixel_values` [patches, C·T·P·P] and the grids.
    public func inputs(pixels: Tensor, grids: [Grid]) throws -> [String: Tensor] {
        let c = config, width = c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize
        var total = 0
        for (i, g) in grids.enumerated() {
            guard let p = g.checkedPatches, p <= pixels.shape[0] - total else {
                throw OmniError.invalidArgument(name: "grid_thw[\(i)]", expected: "grids whose patches add up to the \(pixels.shape[0]) rows of pixel_values",
                                                actual: "(\(g.t), \(g.h), \(g.w))")
            }
            total += p
        }
        guard pixels.shape.rank == 2, pixels.shape[1] == width, pixels.dtype == .f32 else {
            throw OmniError.invalidArgument(name: "pixel_values", expected: "[patches, \(width)] f32", actual: "\(pixels.shape) \(pixels.dtype)")
        }
        guard pixels.shape[0] == total else {
            throw OmniError.invalidArgument(name: "pixel_values", expected: "\(total) patches (Σ t·h·w of the grids)", actual: "\(pixels.shape[0])")
        }
        let p = patchPositions(grids), unit = mergeUnit
        let patchOrder = windows(grids).order.flatMap { g in (0..<unit).map { g * unit + $0 } }
        let ys = patchOrder.map { p[0][$0] }, xs = patchOrder.map { p[1][$0] }
        return [Self.pixels: pixels.contiguous(), Self.positions: Tensor(int64: ys + xs, shape: [2, total])]
    }

    /// Checks grid rows (t, h, w): positive, h and w multiples of the merge size.
    public func validate(_ grids: [Grid]) throws {
        for (i, g) in grids.enumerated() where g.t < 1 || g.h < 1 || g.w < 1 || g.h % config.spatialMergeSize != 0
            || g.w % config.spatialMergeSize != 0 {
            throw OmniError.invalidArgument(name: "grid_thw[\(i)]", expected: "positive (t, h, w) with h and w multiples of \(config.spatialMergeSize)",
                                            actual: "(\(g.t), \(g.h), \(g.w))")
        }
    }

    /// The graph for `grids` (validated).
    public func graph(grids: [Grid]) -> Graph {
        let c = config, d = c.hiddenSize, unit = mergeUnit
        let width = c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize
        let total = grids.reduce(0) { $0 + $1.patches }
        let (order, windowSegments, frameSegments) = windows(grids)
        let patchOrder = order.flatMap { g in (0..<unit).map { g * unit + $0 } }
        var g = Graph()
        let pixels = g.input(Self.pixels, shape: [total, width])
        let positions = g.input(Self.positions, shape: [2, total], dtype: .i64)
        let kernel = g.weight(scope["patch_embed.proj.weight"], shape: [d, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize])
        let embedded = g.linear(pixels, g.reshape(kernel, [d, width], name: "vision.patch_kernel"), name: "vision.patch_embed")
        var x = g.gatherRows(embedded, patchOrder, name: "vision.windowed")
        for i in 0..<c.depth {
            let segments = c.fullAttentionBlockIndexes.contains(i) ? frameSegments : windowSegments
            x = block(&g, x, positions: positions, layer: i, segments: segments)
        }
        let m = scope.scoped("merger")
        let normed = g.rmsNorm(x, g.weight(m["ln_q.weight"], shape: [d]), eps: Self.normEps, name: "vision.merger.norm")
        let grouped = g.reshape(normed, [total / unit, unit * d], name: "vision.merger.grouped")
        let h1 = g.linear(grouped, g.weight(m["mlp.0.weight"], shape: [unit * d, unit * d]),
                          bias: g.weight(m["mlp.0.bias"], shape: [unit * d]), name: "vision.merger.fc1")
        let act = g.gelu(h1, tanh: false, name: "vision.merger.act")
        let merged = g.linear(act, g.weight(m["mlp.2.weight"], shape: [c.outHiddenSize, unit * d]),
                              bias: g.weight(m["mlp.2.bias"], shape: [c.outHiddenSize]), name: "vision.merger.fc2")
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        g.markOutput(g.gatherRows(merged, inverse, name: Self.embeds))
        return g
    }

    /// One block: x + proj(Attn(RMSNorm1(x))), then + down(silu(gate(RMSNorm2(x))) ⊙ up(RMSNorm2(x))).
    func block(_ g: inout Graph, _ x: ValueID, positions: ValueID, layer i: Int, segments: [Int]) -> ValueID {
        let c = config, d = c.hiddenSize, hd = c.headDim
        let s = scope.scoped("blocks.\(i)"), a = s.scoped("attn"), m = s.scoped("mlp")
        let n = "vision.L\(i)"
        let lin = { (g: inout Graph, x: ValueID, scope: WeightScope, key: String, out: Int, inF: Int, name: String) in
            g.linear(x, g.weight(scope["\(key).weight"], shape: [out, inF]), bias: g.weight(scope["\(key).bias"], shape: [out]), name: name)
        }
        let h = g.rmsNorm(x, g.weight(s["norm1.weight"], shape: [d]), eps: Self.normEps, name: "\(n).attn_norm")
        let theta = Float(c.ropeTheta)
        let q = g.rope(lin(&g, h, a, "q", d, d, "\(n).q"), positions: positions, heads: c.heads, headDim: hd, theta: theta,
                       kind: .axial2D, name: "\(n).q_rope")
        let k = g.rope(lin(&g, h, a, "k", d, d, "\(n).k"), positions: positions, heads: c.heads, headDim: hd, theta: theta,
                       kind: .axial2D, name: "\(n).k_rope")
        let v = lin(&g, h, a, "v", d, d, "\(n).v")
        let spec = AttentionSpec(heads: c.heads, kvHeads: c.heads, headDim: hd, causal: false, segments: segments,
                                 backendChain: attention)
        let att = g.attention(q: q, k: k, v: v, spec: spec, name: "\(n).attn")
        let x1 = g.add(x, lin(&g, att, a, "proj", d, d, "\(n).attn_out"), name: "\(n).attn_residual")
        let h2 = g.rmsNorm(x1, g.weight(s["norm2.weight"], shape: [d]), eps: Self.normEps, name: "\(n).ffn_norm")
        let act = g.swiglu(gate: lin(&g, h2, m, "gate_proj", c.intermediateSize, d, "\(n).gate"),
                           up: lin(&g, h2, m, "up_proj", c.intermediateSize, d, "\(n).up"), name: "\(n).act")
        return g.add(x1, lin(&g, act, m, "down_proj", d, c.intermediateSize, "\(n).ffn_out"), name: "\(n).out")
    }

    /// Every checkpoint key of the tower with its shape, for strict loading.
    public func expectedWeights() -> [String: Shape] {
        let m = config.spatialMergeSize
        var out: [String: Shape] = [:]
        for node in graph(grids: [Grid(t: 1, h: m, w: m)]).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
