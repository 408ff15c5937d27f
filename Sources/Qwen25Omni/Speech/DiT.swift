import Foundation
import OmniCore

/// Token2wav's velocity network; mirrors `Qwen2_5OmniToken2WavDiTModel.forward` (transformers 5.17.0, OMNI-SPEC
/// §7.4): input embedding (noisy mel, ECAPA speaker code, repeated codec embedding, speaker vector), a sinusoidal
/// time embedding, AdaLN-zero DiT blocks whose attention sees its own 24-frame block (plus the previous or next
/// one in the look-back / look-ahead layers), interleaved RoPE on the first head only, and a final AdaLN + projection.
///
/// Classifier-free guidance runs both branches in one pass: a "guided" graph holds 2T rows (conditional, then
/// unconditional), and combines v_c + g·(v_c − v_u) at the end. The block mask travels as attention segments
/// (one per block's key window, never spanning the two branches) rather than a dense [2T, 2T] mask.
/// Two graphs: `conditioningGraph` (ECAPA, embeddings; once per utterance) and `velocityGraph` (once per ODE
/// evaluation). Describes computation only; checkpoint names appear only through `scope`.
public struct DiT: Sendable {
    /// Hyper-parameters.
    public let config: DiTConfig
    /// `token2wav.code2wav_dit_model`.
    public let scope: WeightScope
    /// Attention backend chain.
    public let attention: [String]

    /// Conditioning graph inputs: reference mel [T_ref, melDim] (and zeros of that shape for the unconditional
    /// branch), codec ids [n + 1] i64 (the codes, then the null code 0), speaker vectors [B, encEmbDim].
    public static let refMel = "dit.ref_mel", nullRefMel = "dit.ref_mel_null", codeIDs = "dit.code_ids", speaker = "dit.spk"
    /// Conditioning output [B·T, encDim + embDim + encEmbDim]: ECAPA code, codec embedding, speaker vector per frame.
    public static let conditioning = "dit.conditioning"
    /// Velocity graph inputs: the ODE state x [T, melDim], the time sinusoid [1, 256], positions [B·T] i64 and a row
    /// of ones [hidden] (AdaLN's 1 + scale).
    public static let state = "dit.x", time = "dit.time", positions = "dit.positions", ones = "dit.ones"
    /// Velocity graph output [T, melDim] (guided: after the CFG combination).
    public static let velocity = "dit.velocity"
    /// Width of the time sinusoid (`SinusPositionEmbedding(256)`).
    public static let timeFrequencies = 256

    /// A network for `config`, reading `scope`.
    public init(config: DiTConfig, scope: WeightScope = WeightScope("token2wav.code2wav_dit_model"),
                attention: [String] = ["eager"]) {
        self.config = config
        self.scope = scope
        self.attention = attention
    }

    var encoder: SpeakerEncoder { SpeakerEncoder(config: config, scope: scope.scoped("input_embed.spk_encoder")) }

    /// Reference mels must be longer than the encoder's largest reflect padding.
    public var minimumReferenceFrames: Int { encoder.maxPadding + 1 }

    /// Width of the per-frame conditioning.
    var conditioningWidth: Int { config.encDim + config.embDim + config.encEmbDim }

    /// (look-back, look-ahead) blocks of layer `l`.
    func reach(layer l: Int) -> (back: Int, ahead: Int) {
        (config.lookBackwardLayers.contains(l) ? 1 : 0, config.lookAheadLayers.contains(l) ? 1 : 0)
    }

    // MARK: conditioning (once per utterance)

    /// ref [T_ref, mel], codes [n + 1], spk [B, encEmbDim] → conditioning [B·T, encDim + embDim + encEmbDim]
    /// with T = n · repeats; B = 2 when `guided` (the unconditional rows use ECAPA(zeros), code 0 and a zero speaker).
    public func conditioningGraph(codes n: Int, refFrames: Int, guided: Bool) -> Graph {
        let c = config, t = n * c.repeats, b = guided ? 2 : 1
        var g = Graph()
        var ecapa = encoder(&g, ref: g.input(Self.refMel, shape: [refFrames, c.melDim]), tag: "cond")   // [1, encDim]
        if guided {
            let null = encoder(&g, ref: g.input(Self.nullRefMel, shape: [refFrames, c.melDim]), tag: "null")
            ecapa = g.concat([ecapa, null], axis: 0, name: "ecapa.both")                               // [2, encDim]
        }
        let perBranch = (0..<b).flatMap { [Int](repeating: $0, count: t) }                              // branch of each row
        let codeRows = (0..<t).map { $0 / c.repeats } + (guided ? [Int](repeating: n, count: t) : [])   // repeat_interleave; null
        let table = g.weight(scope["text_embed.codec_embed.weight"], shape: [c.numEmbeds + 1, c.embDim])
        let codes = g.embedding(table, ids: g.input(Self.codeIDs, shape: [n + 1], dtype: .i64), name: "dit.codec_embed")
        let parts = [g.gatherRows(ecapa, perBranch, name: "dit.ecapa_rows"),
                     g.gatherRows(codes, codeRows, name: "dit.code_rows"),
                     g.gatherRows(g.input(Self.speaker, shape: [b, c.encEmbDim]), perBranch, name: "dit.spk_rows")]
        g.markOutput(g.concat(parts, axis: 1, name: Self.conditioning))
        return g
    }

    // MARK: velocity (once per ODE evaluation)

    /// x [T, mel], conditioning [B·T, ·], time [1, 256] → velocity [T, mel]; guided: v_c + guidance·(v_c − v_u).
    public func velocityGraph(frames t: Int, guided: Bool, guidance: Float) -> Graph {
        let c = config, hd = c.hiddenSize, rows = guided ? 2 * t : t
        var g = Graph()
        func w(_ key: String, _ shape: Shape) -> ValueID { g.weight(scope[key], shape: shape) }
        let x = g.input(Self.state, shape: [t, c.melDim])
        let cond = g.input(Self.conditioning, shape: [rows, conditioningWidth])
        let positions = g.input(Self.positions, shape: [rows], dtype: .i64)
        let ones = g.input(Self.ones, shape: [hd])
        // Time embedding: Linear(256 → Hd), SiLU, Linear(Hd → Hd); every AdaLN reads SiLU(temb).
        var temb = g.linear(g.input(Self.time, shape: [1, Self.timeFrequencies]), w("time_embed.time_mlp.0.weight", [hd, Self.timeFrequencies]),
                            bias: w("time_embed.time_mlp.0.bias", [hd]), name: "dit.time_mlp0")
        temb = g.linear(silu(&g, temb, "dit.time_silu"), w("time_embed.time_mlp.2.weight", [hd, hd]),
                        bias: w("time_embed.time_mlp.2.bias", [hd]), name: "dit.temb")
        let act = silu(&g, temb, "dit.temb_silu")                                                   // [1, Hd]
        // Input embedding: proj(cat(x, ecapa, code, spk)).
        let xs = guided ? g.concat([x, x], axis: 0, name: "dit.x_both") : x
        let inWidth = c.melDim + conditioningWidth
        var h = g.linear(g.concat([xs, cond], axis: 1, name: "dit.input"), w("input_embed.proj.weight", [hd, inWidth]),
                         bias: w("input_embed.proj.bias", [hd]), name: "dit.embed")                    // [rows, Hd]
        for l in 0..<c.layers {
            h = block(&g, h, act: act, ones: ones, positions: positions, frames: t, guided: guided, layer: l)
        }
        // Final AdaLN (scale first, then shift) and projection.
        let mod = g.linear(act, w("norm_out.linear.weight", [2 * hd, hd]), bias: w("norm_out.linear.bias", [2 * hd]), name: "dit.norm_out.mod")
        let scale = chunk(&g, mod, 0, hd, "dit.norm_out.scale"), shift = chunk(&g, mod, 1, hd, "dit.norm_out.shift")
        h = modulate(&g, g.layerNorm(h, nil, nil, eps: 1e-6, name: "dit.norm_out.ln"), scale: scale, shift: shift, ones: ones,
                     name: "dit.norm_out")
        let out = g.linear(h, w("proj_out.weight", [c.melDim, hd]), bias: w("proj_out.bias", [c.melDim]), name: "dit.proj_out")
        if guided {
            let vc = g.rows(out, 0..<t, name: "dit.v_cond"), vu = g.rows(out, t..<(2 * t), name: "dit.v_null")
            let diff = g.add(vc, g.scale(vu, -1, name: "dit.v_null_neg"), name: "dit.v_diff")
            g.markOutput(g.add(vc, g.scale(diff, guidance, name: "dit.v_guide"), name: Self.velocity))
        } else {
            g.markOutput(g.reshape(out, [t, c.melDim], name: Self.velocity))
        }
        return g
    }

    /// x · sigmoid(x), same shape.
    func silu(_ g: inout Graph, _ x: ValueID, _ name: String) -> ValueID { g.add(.silu(x), shape: g[x].shape, name: name) }

    /// Chunk `i` of width `width` of a [1, k·width] row, as a [width] vector.
    func chunk(_ g: inout Graph, _ x: ValueID, _ i: Int, _ width: Int, _ name: String) -> ValueID {
        g.reshape(g.slice(x, axis: 1, (i * width)..<((i + 1) * width), name: "\(name).slice"), [width], name: name)
    }

    /// n · (1 + scale) + shift, scale and shift [Hd] broadcast over the rows.
    func modulate(_ g: inout Graph, _ n: ValueID, scale: ValueID, shift: ValueID, ones: ValueID, name: String) -> ValueID {
        let factor = g.add(scale, ones, name: "\(name).one_plus_scale")
        return g.add(g.mul(n, factor, name: "\(name).scaled"), shift, name: "\(name).modulated")
    }

    /// `DiTDecoderLayer` l: h [rows, Hd] → [rows, Hd].
    func block(_ g: inout Graph, _ h: ValueID, act: ValueID, ones: ValueID, positions: ValueID,
               frames t: Int, guided: Bool, layer l: Int) -> ValueID {
        let c = config, hd = c.hiddenSize, inner = c.heads * c.headDim, s = scope.scoped("transformer_blocks.\(l)")
        let n = "dit.L\(l)"
        func w(_ key: String, _ shape: Shape) -> ValueID { g.weight(s[key], shape: shape) }
        func linear(_ x: ValueID, _ key: String, out: Int, in width: Int, _ name: String) -> ValueID {
            g.linear(x, w("\(key).weight", [out, width]), bias: w("\(key).bias", [out]), name: "\(n).\(name)")
        }
        // AdaLN-zero: shift, scale, gate (attention), shift, scale, gate (MLP).
        let mod = linear(act, "attn_norm.linear", out: 6 * hd, in: hd, "mod")
        let part = (0..<6).map { chunk(&g, mod, $0, hd, "\(n).mod\($0)") }
        let norm = modulate(&g, g.layerNorm(h, nil, nil, eps: 1e-6, name: "\(n).attn_ln"), scale: part[1], shift: part[0],
                            ones: ones, name: "\(n).attn_norm")
        var q = linear(norm, "attn.to_q", out: inner, in: hd, "q")
        var k = linear(norm, "attn.to_k", out: inner, in: hd, "k")
        let v = linear(norm, "attn.to_v", out: inner, in: hd, "v")
        // RoPE on head 0 only, in the interleaved pair convention.
        func ropeFirstHead(_ x: ValueID, _ tag: String) -> ValueID {
            let head = g.rope(g.slice(x, axis: 1, 0..<c.headDim, name: "\(n).\(tag)_head0"), positions: positions, heads: 1,
                              headDim: c.headDim, theta: Float(c.ropeTheta), kind: .interleaved, name: "\(n).\(tag)_rope")
            guard c.heads > 1 else { return head }
            return g.concat([head, g.slice(x, axis: 1, c.headDim..<inner, name: "\(n).\(tag)_rest")], axis: 1, name: "\(n).\(tag)_rot")
        }
        q = ropeFirstHead(q, "q")
        k = ropeFirstHead(k, "k")
        // The block band as segments: each block's queries attend a window of whole blocks (its own, plus the
        // previous / next in the look-back / look-ahead layers), gathered into a segment of its own; the outputs of
        // the block's own rows are picked back. Exactly the allowed keys, and a backend that skips keys outside a
        // segment does O(T·window) work instead of O(T²).
        let r = reach(layer: l), win = Self.windows(frames: t, branches: guided ? 2 : 1, blockSize: c.blockSize, back: r.back, ahead: r.ahead)
        let spec = AttentionSpec(heads: c.heads, kvHeads: c.heads, headDim: c.headDim, causal: false,
                                 segments: win.segments, backendChain: attention)
        var attn: ValueID
        if let gather = win.gather {
            attn = g.attention(q: g.gatherRows(q, gather, name: "\(n).q_win"), k: g.gatherRows(k, gather, name: "\(n).k_win"),
                               v: g.gatherRows(v, gather, name: "\(n).v_win"), spec: spec, name: "\(n).attn_win")
            attn = g.gatherRows(attn, win.pick, name: "\(n).attn")
        } else {
            attn = g.attention(q: q, k: k, v: v, spec: spec, name: "\(n).attn")
        }
        let o = linear(attn, "attn.to_out.0", out: hd, in: inner, "attn_out")
        var out = g.add(h, g.mul(o, part[2], name: "\(n).attn_gated"), name: "\(n).attn_res")
        let norm2 = modulate(&g, g.layerNorm(out, nil, nil, eps: 1e-6, name: "\(n).ff_ln"), scale: part[4], shift: part[3],
                             ones: ones, name: "\(n).ff_norm")
        let ffWidth = c.ffMult * hd
        let up = g.gelu(linear(norm2, "ff.ff.0", out: ffWidth, in: hd, "ff_up"), tanh: true, name: "\(n).ff_gelu")
        let ff = linear(up, "ff.ff.3", out: hd, in: ffWidth, "ff_down")
        out = g.add(out, g.mul(ff, part[5], name: "\(n).ff_gated"), name: "\(n).out")
        return out
    }

    // MARK: host-side inputs

    /// The sinusoidal time embedding of `t` [1, 256]: [sin(1000·t·f), cos(1000·t·f)] with f_i = e^(−i·ln(10⁴)/127),
    /// in fp32 as `SinusPositionEmbedding` computes it.
    public static func timeSinusoid(_ t: Float) -> Tensor {
        let half = timeFrequencies / 2
        let step = Float(log(10000.0) / Double(half - 1))
        let scaled = 1000 * t
        var v = [Float](repeating: 0, count: timeFrequencies)
        for i in 0..<half {
            let a = scaled * Foundation.exp(Float(i) * -step)
            v[i] = Foundation.sin(a)
            v[half + i] = Foundation.cos(a)
        }
        return Tensor(v, shape: [1, timeFrequencies])
    }

    /// The velocity graph's constant inputs for `t` frames: positions (0..<t per guidance branch) and ones.
    public func constantInputs(frames t: Int, guided: Bool) -> [String: Tensor] {
        let rows = guided ? 2 * t : t
        return [Self.positions: Tensor(int64: (0..<rows).map { Int64($0 % t) }, shape: [rows]),
                Self.ones: Tensor([Float](repeating: 1, count: config.hiddenSize), shape: [config.hiddenSize])]
    }

    /// The attention windows of the block mask (`_create_block_diff`: query i sees key j iff
    /// −back ≤ j/bs − i/bs ≤ ahead, within one guidance branch of `frames` rows): `gather` lists, block by block,
    /// the rows of each block's key window (nil when every window is the block itself), `segments` bounds the
    /// windows, and `pick` finds each row's own output inside its window.
    static func windows(frames t: Int, branches: Int, blockSize bs: Int, back: Int, ahead: Int)
        -> (gather: [Int]?, segments: [Int], pick: [Int]) {
        var gather: [Int] = [], segments = [0], pick: [Int] = []
        let blocks = (t + bs - 1) / bs
        for b in 0..<branches {
            let base = b * t
            for blk in 0..<blocks {
                let lo = max(0, blk - back) * bs, hi = min(t, (blk + ahead + 1) * bs)
                let start = gather.count
                gather += (base + lo)..<(base + hi)
                segments.append(gather.count)
                for row in (blk * bs)..<min(t, (blk + 1) * bs) { pick.append(start + row - lo) }
            }
        }
        return (back == 0 && ahead == 0 ? nil : gather, segments, pick)
    }

    /// Every checkpoint key of the DiT with its shape.
    public func expectedWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        let graphs = [conditioningGraph(codes: 1, refFrames: minimumReferenceFrames + 1, guided: true),
                      velocityGraph(frames: 2, guided: true, guidance: 0.5)]
        for g in graphs { for node in g.nodes { if case let .weight(key) = node.op { out[key] = node.shape } } }
        return out
    }
}
