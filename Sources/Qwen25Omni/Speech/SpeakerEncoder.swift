import OmniCore

/// The DiT's speaker encoder; mirrors `ECAPA_TimeDelayNet` (transformers 5.17.0, OMNI-SPEC §7.4 step 4): a TDNN,
/// SE-Res2Net blocks, multi-layer aggregation, attentive statistics pooling and a 1×1 projection, over a
/// reference mel [T_ref, melDim] → [1, encDim].
///
/// Layout: convolutions run channels-first ([C, T_ref]); 1×1 convs, the squeeze-excitation and the pooling run
/// time-first ([T_ref, C]) as `linear`s over reshaped kernels, with `permute` between the two.
struct SpeakerEncoder {
    let config: DiTConfig
    /// `token2wav.code2wav_dit_model.input_embed.spk_encoder`.
    let scope: WeightScope

    /// The largest reflect padding of any TDNN: a reference mel must be longer than this (constraint 24).
    var maxPadding: Int {
        zip(config.encKernelSizes, config.encDilations).map { k, d in d * (k - 1) - d * (k - 1) / 2 }.max() ?? 0
    }

    /// ref [T_ref, melDim] → [1, encDim]. `tag` keeps node names of several encoders in one graph apart.
    func callAsFunction(_ g: inout Graph, ref: ValueID, tag: String) -> ValueID {
        let c = config, n = c.encChannels.count, len = g[ref].shape[0]
        let name = "ecapa.\(tag)"
        var x = g.permute(ref, [1, 0], name: "\(name).in")                                     // [mel, T]
        x = tdnn(&g, x, scope.scoped("blocks.0"), cin: c.melDim, cout: c.encChannels[0], k: c.encKernelSizes[0],
                 d: c.encDilations[0], name: "\(name).b0")
        var outs: [ValueID] = []
        for i in 1..<(n - 1) {
            x = seRes2Block(&g, x, scope.scoped("blocks.\(i)"), cin: c.encChannels[i - 1], cout: c.encChannels[i],
                            k: c.encKernelSizes[i], d: c.encDilations[i], name: "\(name).b\(i)")
            outs.append(x)
        }
        let cm = c.encChannels[n - 1]
        let cat = g.concat(outs, axis: 0, name: "\(name).mfa_in")                                // [Cm, T]
        let m = tdnn(&g, cat, scope.scoped("mfa"), cin: cm, cout: cm, k: c.encKernelSizes[n - 1], d: c.encDilations[n - 1],
                     name: "\(name).mfa")
        let pooled = attentivePooling(&g, g.permute(m, [1, 0], name: "\(name).mfa_t"), channels: cm, length: len,
                                      name: "\(name).asp")                                       // [1, 2Cm]
        return conv1x1(&g, pooled, scope.scoped("fc"), cin: 2 * cm, cout: c.encDim, name: "\(name).out")
    }

    /// TimeDelayNetBlock: reflect-padded "same" Conv1d (+ bias) and ReLU, x [cin, T] → [cout, T].
    func tdnn(_ g: inout Graph, _ x: ValueID, _ s: WeightScope, cin: Int, cout: Int, k: Int, d: Int, name: String) -> ValueID {
        let total = d * (k - 1)
        var y = x
        if total > 0 { y = g.reflectPad(x, left: total / 2, right: total - total / 2, name: "\(name).pad") }
        y = g.conv1d(y, g.weight(s["conv.weight"], shape: [cout, cin, k]), bias: g.weight(s["conv.bias"], shape: [cout]),
                     dilation: d, name: "\(name).conv")
        return g.unary(y, .relu, name: "\(name).relu")
    }

    /// A kernel-1 conv (+ bias) on time-first rows: x [T, cin] → [T, cout].
    func conv1x1(_ g: inout Graph, _ x: ValueID, _ s: WeightScope, cin: Int, cout: Int, name: String) -> ValueID {
        // The kernel viewed as a matrix, shared by every encoder in the graph.
        let view = "\(s["weight"]).matrix"
        let w = g.value(named: view) ?? g.reshape(g.weight(s["weight"], shape: [cout, cin, 1]), [cout, cin], name: view)
        return g.linear(x, w, bias: g.weight(s["bias"], shape: [cout]), name: name)
    }

    /// SqueezeExcitationRes2NetBlock: tdnn1, Res2Net, tdnn2, squeeze-excitation, + residual. x [cin, T] → [cout, T].
    func seRes2Block(_ g: inout Graph, _ x: ValueID, _ s: WeightScope, cin: Int, cout: Int, k: Int, d: Int,
                     name: String) -> ValueID {
        let len = g[x].shape[1], scale = config.encRes2NetScale, part = cout / scale
        let u = tdnn(&g, x, s.scoped("tdnn1"), cin: cin, cout: cout, k: 1, d: 1, name: "\(name).tdnn1")
        // Res2Net: chunk 0 passes; chunk 1 through block 0; chunk i ≥ 2 through block i−1 after adding the last output.
        var parts: [ValueID] = []
        var last: ValueID?
        for i in 0..<scale {
            var p = g.slice(u, axis: 0, (i * part)..<((i + 1) * part), name: "\(name).res2.chunk\(i)")
            if i >= 1 {
                if i >= 2, let l = last { p = g.add(p, l, name: "\(name).res2.in\(i)") }
                p = tdnn(&g, p, s.scoped("res2net_block.blocks.\(i - 1)"), cin: part, cout: part, k: k, d: d,
                         name: "\(name).res2.\(i - 1)")
                last = p
            }
            parts.append(p)
        }
        let r = tdnn(&g, g.concat(parts, axis: 0, name: "\(name).res2"), s.scoped("tdnn2"), cin: cout, cout: cout, k: 1, d: 1,
                     name: "\(name).tdnn2")
        // Squeeze-excitation over the time mean, then the gate scales every channel.
        let rt = g.permute(r, [1, 0], name: "\(name).se.t")                                  // [T, C]
        let mean = g.poolRows(rt, window: len, name: "\(name).se.mean")                       // [1, C]
        let se = config.encSEChannels
        var gate = conv1x1(&g, mean, s.scoped("se_block.conv1"), cin: cout, cout: se, name: "\(name).se.conv1")
        gate = g.unary(gate, .relu, name: "\(name).se.relu")
        gate = conv1x1(&g, gate, s.scoped("se_block.conv2"), cin: se, cout: cout, name: "\(name).se.conv2")
        gate = g.reshape(g.unary(gate, .sigmoid, name: "\(name).se.sigmoid"), [cout], name: "\(name).se.gate")
        let scaled = g.mul(rt, gate, name: "\(name).se.out")
        let sum = g.add(scaled, g.permute(x, [1, 0], name: "\(name).residual"), name: "\(name).out_t")
        return g.permute(sum, [1, 0], name: "\(name).out")                                   // [C, T]
    }

    /// AttentiveStatisticsPooling on m [T, C] → [1, 2C]: global mean/std as context, attention weights per
    /// channel over time (softmax), then the weighted mean and std.
    func attentivePooling(_ g: inout Graph, _ m: ValueID, channels c: Int, length t: Int, name: String) -> ValueID {
        let s = scope.scoped("asp")
        let broadcast = [Int](repeating: 0, count: t)
        func stats(_ weighted: (ValueID, String) -> ValueID, _ tag: String) -> (mean: ValueID, std: ValueID) {
            // mean = Σ_t w·m, std = sqrt(max(Σ_t w·(m − mean)², 1e−12)).
            let mean = weighted(m, "\(tag).mean")
            let centered = g.add(m, g.reshape(g.scale(mean, -1, name: "\(name).\(tag).neg"), [c], name: "\(name).\(tag).negrow"),
                                 name: "\(name).\(tag).centered")
            let sq = g.mul(centered, centered, name: "\(name).\(tag).sq")
            let std = g.unary(weighted(sq, "\(tag).var"), .sqrt(floor: 1e-12), name: "\(name).\(tag).std")
            return (mean, std)
        }
        // Uniform weights 1/T: the mean over time.
        let global = stats({ v, n in g.poolRows(v, window: t, name: "\(name).\(n)") }, "global")
        let context = g.concat([m, g.gatherRows(global.mean, broadcast, name: "\(name).global.mean_t"),
                                g.gatherRows(global.std, broadcast, name: "\(name).global.std_t")], axis: 1,
                               name: "\(name).context")                                        // [T, 3C]
        var a = conv1x1(&g, context, s.scoped("tdnn.conv"), cin: 3 * c, cout: config.encAttentionChannels, name: "\(name).tdnn")
        a = g.unary(g.unary(a, .relu, name: "\(name).tdnn.relu"), .tanh, name: "\(name).tanh")
        a = conv1x1(&g, a, s.scoped("conv"), cin: config.encAttentionChannels, cout: c, name: "\(name).logits")  // [T, C]
        let w = g.permute(g.softmax(g.permute(a, [1, 0], name: "\(name).logits_t"), name: "\(name).softmax"), [1, 0],
                          name: "\(name).weights")                                              // [T, C], Σ_t = 1
        // Σ_t w·v as T · mean_t(w·v).
        let weighted = stats({ v, n in
            g.scale(g.poolRows(g.mul(v, w, name: "\(name).\(n).wv"), window: t, name: "\(name).\(n).avg"), Float(t),
                    name: "\(name).\(n)")
        }, "weighted")
        return g.concat([weighted.mean, weighted.std], axis: 1, name: "\(name).pooled")
    }

    /// Every checkpoint key of the encoder with its shape.
    func expectedWeights() -> [String: Shape] {
        var g = Graph()
        _ = callAsFunction(&g, ref: g.input("ref", shape: [maxPadding + 2, config.melDim]), tag: "x")
        var out: [String: Shape] = [:]
        for node in g.nodes { if case let .weight(key) = node.op { out[key] = node.shape } }
        return out
    }
}
