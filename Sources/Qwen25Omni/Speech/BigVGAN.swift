import Foundation
import OmniCore

/// Token2wav's vocoder; mirrors `Qwen2_5OmniToken2WavBigVGANModel` (transformers 5.17.0, OMNI-SPEC §7.5): mel
/// normalization, conv_pre, six transposed-conv upsamplings each followed by the mean of three AMP residual
/// blocks (anti-aliased SnakeBeta, dilated convs), a final SnakeBeta, conv_post and a clamp to [−1, 1].
///
/// Describes computation only; an executor runs the graph. Checkpoint names appear only through `scope`.
public struct BigVGAN: Sendable {
    /// Vocoder hyper-parameters.
    public let config: BigVGANConfig
    /// Checkpoint scope (`token2wav.code2wav_bigvgan_model`).
    public let scope: WeightScope

    /// Input name: the normalized mel [melDim, frames] (`inputs(mel:)`); output: the waveform before the clamp.
    public static let mel = "bigvgan.mel", waveform = "bigvgan.waveform"

    /// A vocoder for `config`, reading `scope`.
    public init(config: BigVGANConfig, scope: WeightScope = WeightScope("token2wav.code2wav_bigvgan_model")) {
        self.config = config
        self.scope = scope
    }

    /// Samples per mel frame (the product of the upsampling rates: 240).
    public var samplesPerFrame: Int { config.hopLength }

    /// The graph input for a natural-log amplitude mel [melDim, frames]: exp, to dB with a −115 dB floor and
    /// −20 dB offset, scaled to [−1, 1] (`process_mel_spectrogram`), in fp32.
    public func inputs(mel: Tensor) throws -> [String: Tensor] {
        let s = mel.shape
        let frames = s[s.rank - 1], bins = s.rank >= 2 ? s[s.rank - 2] : 0
        guard s.rank >= 2, bins == config.melDim, s.elementCount == bins * frames, frames >= 1 else {
            throw OmniError.invalidArgument(name: "mel", expected: "[\(config.melDim), frames] (or [1, \(config.melDim), frames])", actual: "\(s)")
        }
        let floor = Float(exp(-115.0 / 20.0 * log(10.0)))
        let v = try mel.floats().map { m -> Float in
            let db = 20 * log10(max(exp(m), floor)) - 20
            return min(1, max(-1, 2 * ((db + 115) / 115) - 1))
        }
        return [Self.mel: Tensor(v, shape: [bins, frames])]
    }

    /// The graph for `frames` mel frames → [1, frames · samplesPerFrame].
    public func graph(frames: Int) -> Graph {
        let c = config, c0 = c.upsampleInitialChannel
        var g = Graph()
        let w = { (g: inout Graph, key: String, shape: Shape) in g.weight(self.scope[key], shape: shape) }
        var x = g.input(Self.mel, shape: [c.melDim, frames])
        x = g.conv1d(x, w(&g, "conv_pre.weight", [c0, c.melDim, 7]), bias: w(&g, "conv_pre.bias", [c0]), padding: 3, name: "bigvgan.conv_pre")
        for (i, (rate, k)) in zip(c.upsampleRates, c.upsampleKernelSizes).enumerated() {
            let cin = c0 >> i, cout = c0 >> (i + 1)
            x = g.convTranspose1d(x, w(&g, "ups.\(i).0.weight", [cin, cout, k]), bias: w(&g, "ups.\(i).0.bias", [cout]),
                                  stride: rate, padding: (k - rate) / 2, name: "bigvgan.up\(i)")
            let n = c.resblockKernelSizes.count
            var sum: ValueID?
            for j in 0..<n {
                let y = resblock(&g, x, index: i * n + j, channels: cout, kernel: c.resblockKernelSizes[j],
                                 dilations: c.resblockDilationSizes[j])
                sum = sum.map { g.add($0, y, name: "bigvgan.up\(i).sum\(j)") } ?? y
            }
            x = g.scale(sum!, 1 / Float(n), name: "bigvgan.up\(i).mean")
        }
        let cl = c0 >> c.upsampleRates.count
        x = g.snakeBeta(x, alpha: w(&g, "activation_post.act.alpha", [cl]), beta: w(&g, "activation_post.act.beta", [cl]),
                        name: "bigvgan.act_post")
        g.markOutput(g.conv1d(x, w(&g, "conv_post.weight", [1, cl, 7]), bias: nil, padding: 3, name: Self.waveform))
        return g
    }

    /// AMP block r: for each dilation j, x += conv2_j(snake(conv1_j(snake(x)))).
    func resblock(_ g: inout Graph, _ x: ValueID, index r: Int, channels ch: Int, kernel k: Int, dilations: [Int]) -> ValueID {
        let s = scope.scoped("resblocks.\(r)")
        var x = x
        for (j, d) in dilations.enumerated() {
            let n = "bigvgan.rb\(r).\(j)"
            func act(_ g: inout Graph, _ v: ValueID, _ a: Int) -> ValueID {
                g.snakeBeta(v, alpha: g.weight(s["activations.\(a).act.alpha"], shape: [ch]),
                            beta: g.weight(s["activations.\(a).act.beta"], shape: [ch]), name: "\(n).act\(a)")
            }
            var y = act(&g, x, 2 * j)
            y = g.conv1d(y, g.weight(s["convs1.\(j).weight"], shape: [ch, ch, k]), bias: g.weight(s["convs1.\(j).bias"], shape: [ch]),
                         padding: d * (k - 1) / 2, dilation: d, name: "\(n).conv1")
            y = act(&g, y, 2 * j + 1)
            y = g.conv1d(y, g.weight(s["convs2.\(j).weight"], shape: [ch, ch, k]), bias: g.weight(s["convs2.\(j).bias"], shape: [ch]),
                         padding: (k - 1) / 2, name: "\(n).conv2")
            x = g.add(x, y, name: "\(n).out")
        }
        return x
    }

    /// Every checkpoint key of the vocoder with its shape.
    public func expectedWeights() -> [String: Shape] {
        var out: [String: Shape] = [:]
        for node in graph(frames: 2).nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
