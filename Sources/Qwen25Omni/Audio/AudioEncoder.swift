import Foundation
import OmniCore

/// The thinker's audio tower; mirrors `Qwen2_5OmniAudioEncoder` (transformers 5.17.0, OMNI-SPEC §3.4): per
/// 2-second chunk, conv1 (k3, s1, p1) → GELU → conv2 (k3, s2, p1) → GELU and sinusoid positions restarting at 0;
/// pre-LayerNorm encoder layers with attention that is non-causal and block-diagonal over chunks (no k bias);
/// mean of row pairs per audio; `ln_post`; projection to the thinker width.
///
/// Describes computation only; an executor runs the graph. Checkpoint names appear only through `scope`.
public struct AudioEncoder: Sendable {
    /// Tower hyper-parameters.
    public let config: AudioConfig
    /// Attention backend chain (`attn_implementation` first, then fallbacks); must support segments.
    public var attention: [String]
    /// Checkpoint scope (`thinker.audio_tower`).
    public let scope: WeightScope

    /// Input names: mel features of the valid frames of every audio, [melBins, Σ lengths] f32, and the
    /// sinusoid table [chunk vectors, dModel] f32 (`positionTable`).
    public static let features = "audio.features", positions = "audio.positions"
    /// Output name: [Σ tokens, outputDim].
    public static let embeds = "audio.embeds"

    /// Checkpoint key prefix of the tower.
    public static let keyPrefix = "thinker.audio_tower."

    /// Every checkpoint key the forward reads, with its shape.
    public func runWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        for node in graph(lengths: [chunkFrames + 3]).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }

    /// Every checkpoint key of the tower with its shape, for strict loading: what the forward reads plus
    /// `audio_bos_eos_token.weight` [2, outputDim], which the checkpoint holds but the reference never uses.
    public func expectedWeights() -> [String: Shape] {
        var out = runWeights()
        out[scope["audio_bos_eos_token.weight"]] = [2, config.outputDim]
        return out
    }

    /// LayerNorm epsilon of the tower (torch's default; OMNI-SPEC §3.1).
    static let layerNormEps: Float = 1e-5

    /// A tower for `config`, attending through `attention` (first supported backend wins), reading `scope`.
    public init(config: AudioConfig, attention: [String] = ["eager"], scope: WeightScope = WeightScope("thinker.audio_tower")) {
        self.config = config
        self.attention = attention
        self.scope = scope
    }

    /// Mel frames per chunk (2·n_window).
    public var chunkFrames: Int { 2 * config.nWindow }

    /// Encoder vectors of a chunk of `frames` mel frames (after the stride-2 conv).
    static func vectors(frames: Int) -> Int { (frames - 1) / 2 + 1 }

    /// Output tokens for an audio of `frames` valid mel frames: ((len − 1)//2 + 1 − 2)//2 + 1, as the processor
    /// and `get_rope_index` count them.
    public static func tokens(frames: Int) -> Int { frames < 1 ? 0 : vectors(frames: frames) / 2 }

    /// Chunk lengths (mel frames) of an audio of `frames` frames: full chunks, then the remainder.
    func chunks(frames: Int) -> [Int] {
        let n = chunkFrames
        return Array(repeating: n, count: frames / n) + (frames % n == 0 ? [] : [frames % n])
    }

    /// The sinusoid table rows 0..<rows (`SinusoidsPositionEmbedding`, fp32): all sines, then all cosines, with
    /// inv_i = exp(−i·ln(10000)/(C/2 − 1)).
    public func positionTable(rows: Int) -> Tensor {
        let c = config.dModel, half = c / 2
        let inc = Float(log(10000.0) / Double(half - 1))
        let inv = (0..<half).map { exp(-inc * Float($0)) }
        var v = [Float](repeating: 0, count: rows * c)
        for p in 0..<rows {
            for i in 0..<half {
                let t = Float(p) * inv[i]
                v[p * c + i] = sin(t)
                v[p * c + half + i] = cos(t)
            }
        }
        return Tensor(v, shape: [rows, c])
    }

    /// The graph for audios of `lengths` valid mel frames each (every length ≥ 3, so each audio gives a token).
    public func graph(lengths: [Int]) -> Graph {
        precondition(!lengths.isEmpty && lengths.allSatisfy { Self.tokens(frames: $0) >= 1 }, "audio lengths \(lengths)")
        let c = config, d = c.dModel
        var g = Graph()
        let total = lengths.reduce(0, +)
        let features = g.input(Self.features, shape: [c.melBins, total])
        let table = g.input(Self.positions, shape: [Self.vectors(frames: chunkFrames), d])
        let conv1w = g.weight(scope["conv1.weight"], shape: [d, c.melBins, 3])
        let conv1b = g.weight(scope["conv1.bias"], shape: [d])
        let conv2w = g.weight(scope["conv2.weight"], shape: [d, d, 3])
        let conv2b = g.weight(scope["conv2.bias"], shape: [d])

        // Convolutions per chunk, each chunk a standalone zero-padded sequence; positions restart per chunk.
        var pieces: [ValueID] = [], segments = [0], perAudio: [Int] = []
        var frame = 0, chunkIndex = 0
        for len in lengths {
            var audioVectors = 0
            for frames in chunks(frames: len) {
                let n = "audio.chunk\(chunkIndex)"
                let x = g.slice(features, axis: 1, frame..<(frame + frames), name: "\(n).mel")
                let y1 = g.gelu(g.conv1d(x, conv1w, bias: conv1b, stride: 1, padding: 1, name: "\(n).conv1"), tanh: false,
                                name: "\(n).conv1_act")
                let y2 = g.gelu(g.conv1d(y1, conv2w, bias: conv2b, stride: 2, padding: 1, name: "\(n).conv2"), tanh: false,
                                name: "\(n).conv2_act")
                let rows = Self.vectors(frames: frames)
                let t = g.permute(y2, [1, 0], name: "\(n).rows")
                pieces.append(g.add(t, g.rows(table, 0..<rows, name: "\(n).pos"), name: "\(n).embedded"))
                segments.append(segments.last! + rows)
                audioVectors += rows
                frame += frames
                chunkIndex += 1
            }
            perAudio.append(audioVectors)
        }
        var x = pieces.count == 1 ? pieces[0] : g.concat(pieces, axis: 0, name: "audio.embedded")
        for i in 0..<c.layers { x = layer(&g, x, layer: i, segments: segments) }

        // Mean of row pairs per audio (an odd last vector is dropped), then ln_post and the projection.
        var pooled: [ValueID] = []
        var row = 0
        for (b, n) in perAudio.enumerated() {
            let rows = perAudio.count == 1 ? x : g.rows(x, row..<(row + n), name: "audio.a\(b).vectors")
            pooled.append(g.poolRows(rows, window: 2, name: "audio.a\(b).pooled"))
            row += n
        }
        let p = pooled.count == 1 ? pooled[0] : g.concat(pooled, axis: 0, name: "audio.pooled")
        let normed = g.layerNorm(p, g.weight(scope["ln_post.weight"], shape: [d]), g.weight(scope["ln_post.bias"], shape: [d]),
                                 eps: Self.layerNormEps, name: "audio.ln_post")
        let out = g.linear(normed, g.weight(scope["proj.weight"], shape: [c.outputDim, d]),
                           bias: g.weight(scope["proj.bias"], shape: [c.outputDim]), name: Self.embeds)
        g.markOutput(out)
        return g
    }

    /// One Whisper-style encoder layer: x + out_proj(Attn(LN1(x))), then + fc2(GELU(fc1(LN2(x)))).
    func layer(_ g: inout Graph, _ x: ValueID, layer i: Int, segments: [Int]) -> ValueID {
        let c = config, d = c.dModel
        let s = scope.layer(i), a = s.scoped("self_attn")
        let n = "audio.L\(i)"
        let ln = { (g: inout Graph, x: ValueID, key: String, name: String) in
            g.layerNorm(x, g.weight(s["\(key).weight"], shape: [d]), g.weight(s["\(key).bias"], shape: [d]),
                        eps: Self.layerNormEps, name: name)
        }
        let h = ln(&g, x, "self_attn_layer_norm", "\(n).attn_norm")
        let q = g.linear(h, g.weight(a["q_proj.weight"], shape: [d, d]), bias: g.weight(a["q_proj.bias"], shape: [d]), name: "\(n).q")
        let k = g.linear(h, g.weight(a["k_proj.weight"], shape: [d, d]), name: "\(n).k")
        let v = g.linear(h, g.weight(a["v_proj.weight"], shape: [d, d]), bias: g.weight(a["v_proj.bias"], shape: [d]), name: "\(n).v")
        let spec = AttentionSpec(heads: c.heads, kvHeads: c.heads, headDim: c.headDim, causal: false,
                                 segments: segments, backendChain: attention)
        let att = g.attention(q: q, k: k, v: v, spec: spec, name: "\(n).attn")
        let o = g.linear(att, g.weight(a["out_proj.weight"], shape: [d, d]), bias: g.weight(a["out_proj.bias"], shape: [d]),
                         name: "\(n).attn_out")
        let x1 = g.add(x, o, name: "\(n).attn_residual")
        let h2 = ln(&g, x1, "final_layer_norm", "\(n).ffn_norm")
        let f1 = g.linear(h2, g.weight(s["fc1.weight"], shape: [c.ffnDim, d]), bias: g.weight(s["fc1.bias"], shape: [c.ffnDim]),
                          name: "\(n).fc1")
        let act = g.gelu(f1, tanh: false, name: "\(n).act")
        let f2 = g.linear(act, g.weight(s["fc2.weight"], shape: [d, c.ffnDim]), bias: g.weight(s["fc2.bias"], shape: [d]),
                          name: "\(n).ffn_out")
        return g.add(x1, f2, name: "\(n).out")
    }

    /// The graph inputs for processor outputs: `input_features` [B, melBins, F] (or [melBins, F]) f32 and
    /// `feature_attention_mask` [B, F] (or [F]); the valid frames of every audio are the mask's ones, which
    /// must form a prefix (the feature extractor pads on the right). Returns each audio's length too.
    public func inputs(features: Tensor, mask: Tensor) throws -> (lengths: [Int], inputs: [String: Tensor]) {
        let fs = features.shape
        let (b, bins, frames) = fs.rank == 3 ? (fs[0], fs[1], fs[2]) : (1, fs[0], fs[fs.rank - 1])
        guard fs.rank == 2 || fs.rank == 3, bins == config.melBins else {
            throw OmniError.invalidArgument(name: "input_features", expected: "[batch, \(config.melBins), frames] f32",
                                            actual: "\(fs) \(features.dtype)")
        }
        guard mask.elementCount == b * frames else {
            throw OmniError.invalidArgument(name: "feature_attention_mask", expected: "[\(b), \(frames)]", actual: "\(mask.shape)")
        }
        let m = try mask.int64s(), f = try features.floats()
        var lengths: [Int] = []
        for a in 0..<b {
            let row = m[(a * frames)..<((a + 1) * frames)]
            let len = row.prefix { $0 != 0 }.count
            guard row.dropFirst(len).allSatisfy({ $0 == 0 }), Self.tokens(frames: len) >= 1 else {
                throw OmniError.invalidArgument(name: "feature_attention_mask",
                                                expected: "a prefix of ones of at least 3 frames (one audio token) in row \(a)",
                                                actual: "\(len) leading ones of \(frames)")
            }
            lengths.append(len)
        }
        let total = lengths.reduce(0, +)
        var packed = [Float](repeating: 0, count: bins * total)
        var col = 0
        for (a, len) in lengths.enumerated() {
            for bin in 0..<bins {
                let src = (a * bins + bin) * frames
                for t in 0..<len { packed[bin * total + col + t] = f[src + t] }
            }
            col += len
        }
        return (lengths, [Self.features: Tensor(packed, shape: [bins, total]),
                          Self.positions: positionTable(rows: Self.vectors(frames: chunkFrames))])
    }
}
