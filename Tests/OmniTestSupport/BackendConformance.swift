import Foundation
import OmniCore

/// The conformance suite every compute backend runs: one small graph per op kind, with inputs drawn from a fixed
/// seed and the expected result computed here, directly from the op's definition (loops in Double). It talks to
/// the backend only through `GraphExecutor` (graphs in, host copies out) and `Backend.supports`, so a device
/// backend runs the very same cases; a case whose op the backend does not support is reported as skipped.
public enum BackendConformance {
    /// One op exercised by one graph.
    public struct Case: Sendable {
        public let kind: OpKind
        public let label: String
        public let graph: Graph
        public let inputs: [String: Tensor]
        public let weights: [String: Tensor]
        /// KV-cache slots the graph writes (0: no cache) and their row width.
        public let cacheSlots: Int
        public let cacheWidth: Int
        /// Output name → expected values.
        public let expected: [String: [Float]]
    }

    /// The outcome of running every case.
    public struct Report: Sendable {
        public var failures: [String] = []
        /// Op kinds with at least one case that ran and passed.
        public var covered: Set<OpKind> = []
        /// Cases skipped because the backend does not support them, with why.
        public var skipped: [String] = []
    }

    /// Runs every case on `executor`; `tolerance` bounds max|got − want| / max|want| per output.
    public static func check(_ executor: any GraphExecutor & Backend, tolerance: Float = 1e-5) throws -> Report {
        var report = Report()
        for c in cases() {
            let unsupported = c.graph.nodes.first { node in
                !executor.supports(node.op, dtypes: node.op.inputs.map { c.graph[$0].dtype })
            }
            if let u = unsupported {
                report.skipped.append("\(c.label): \(u.op.kind) (\(u.name)) not supported on \(executor.device.id)")
                continue
            }
            let cache = c.cacheSlots == 0 ? nil : try KVCache(slots: c.cacheSlots, capacity: 16, rowWidth: c.cacheWidth,
                                                               device: executor.device)
            let r = try executor.run(c.graph, bucket: nil, inputs: c.inputs, weights: InMemoryWeights(c.weights),
                                     cache: cache, keep: Set(c.expected.keys))
            var ok = true
            for (name, want) in c.expected.sorted(by: { $0.key < $1.key }) {
                guard let got = try r[name]?.floats(), got.count == want.count else {
                    report.failures.append("\(c.label): \(name) missing or of the wrong size"); ok = false; continue
                }
                let err = Tolerance.relativeMaxError(got, want)
                if !(err <= tolerance) { report.failures.append("\(c.label): \(name) rel err \(err)"); ok = false }
            }
            if ok { for node in c.graph.nodes { report.covered.insert(node.op.kind) } }
        }
        return report
    }

    // MARK: the cases

    /// Every case, each built from the same seeded generator.
    public static func cases() -> [Case] {
        var rng = SeededGenerator(seed: 2026)
        func rand(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.normal() * scale } }
        var out: [Case] = []
        func add(_ kind: OpKind, _ label: String, inputs: [String: Tensor] = [:], weights: [String: Tensor] = [:],
                 cache: (Int, Int) = (0, 0), expected: [String: [Float]], build: (inout Graph) -> Void) {
            var g = Graph()
            build(&g)
            out.append(Case(kind: kind, label: label, graph: g, inputs: inputs, weights: weights, cacheSlots: cache.0,
                            cacheWidth: cache.1, expected: expected))
        }
        let t = 5, d = 12
        let x = rand(t * d), y = rand(t * d), row = rand(d)
        let xT = Tensor(x, shape: [t, d]), yT = Tensor(y, shape: [t, d])

        // Elementwise and broadcasts.
        add(.add, "add", inputs: ["x": xT, "y": yT], weights: ["row": Tensor(row, shape: [d])],
          expected: ["same": zip(x, y).map { $0 + $1 }, "row_bc": x.indices.map { x[$0] + row[$0 % d] }], build: { g in
            let a = g.input("x", shape: [t, d]), b = g.input("y", shape: [t, d]), r = g.weight("row", shape: [d])
            g.markOutput(g.add(a, b, name: "same")); g.markOutput(g.add(a, r, name: "row_bc"))
        })
        add(.mul, "mul", inputs: ["x": xT, "y": yT], weights: ["row": Tensor(row, shape: [d])],
          expected: ["same": zip(x, y).map { $0 * $1 }, "row_bc": x.indices.map { x[$0] * row[$0 % d] }], build: { g in
            let a = g.input("x", shape: [t, d]), b = g.input("y", shape: [t, d]), r = g.weight("row", shape: [d])
            g.markOutput(g.mul(a, b, name: "same")); g.markOutput(g.mul(a, r, name: "row_bc"))
        })
        add(.scale, "scale", inputs: ["x": xT], expected: ["s": x.map { $0 * -0.75 }], build: { g in g.markOutput(g.scale(g.input("x", shape: [t, d]), -0.75, name: "s")) })
        add(.unary, "relu sigmoid tanh sqrt", inputs: ["x": xT], expected: [
            "relu": x.map { max($0, 0) }, "sigmoid": x.map { Float(1 / (1 + exp(-Double($0)))) },
            "tanh": x.map { Float(tanh(Double($0))) }, "sqrt": x.map { Float(max(Double($0), 0.01).squareRoot()) }], build: { g in
            let a = g.input("x", shape: [t, d])
            g.markOutput(g.unary(a, .relu, name: "relu")); g.markOutput(g.unary(a, .sigmoid, name: "sigmoid"))
            g.markOutput(g.unary(a, .tanh, name: "tanh")); g.markOutput(g.unary(a, .sqrt(floor: 0.01), name: "sqrt"))
        })
        // Reflect padding of [C, L] = [t, d] rows: index −i mirrors to i, L−1+i to L−1−i.
        let (padL, padR) = (3, 2)
        add(.reflectPad, "reflect pad", inputs: ["x": xT], expected: ["p": (0..<t).flatMap { r in
            (-padL..<(d + padR)).map { j in x[r * d + (j < 0 ? -j : j >= d ? 2 * (d - 1) - j : j)] } }], build: { g in
            g.markOutput(g.reflectPad(g.input("x", shape: [t, d]), left: padL, right: padR, name: "p"))
        })
        let silu = { (v: Float) -> Float in Float(Double(v) / (1 + exp(-Double(v)))) }
        add(.silu, "silu", inputs: ["x": xT], expected: ["s": x.map(silu)], build: { g in g.markOutput(g.add(.silu(g.input("x", shape: [t, d])), shape: [t, d], name: "s")) })
        add(.swiglu, "swiglu", inputs: ["x": xT, "y": yT], expected: ["s": zip(x, y).map { silu($0) * $1 }], build: { g in
            g.markOutput(g.swiglu(gate: g.input("x", shape: [t, d]), up: g.input("y", shape: [t, d]), name: "s"))
        })
        add(.gelu, "gelu erf and tanh", inputs: ["x": xT], expected: [
            "erf": x.map { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) },
            "tanh": x.map { v in let u = Double(v); return Float(0.5 * u * (1 + tanh((2 / Double.pi).squareRoot() * (u + 0.044715 * u * u * u)))) }], build: { g in
            let a = g.input("x", shape: [t, d])
            g.markOutput(g.gelu(a, tanh: false, name: "erf")); g.markOutput(g.gelu(a, tanh: true, name: "tanh"))
        })

        // Norms (a bf16 weight exercises the executor's widening of small weights).
        let w = rand(d).map { 1 + 0.25 * $0 }, b = rand(d)
        let wBF16 = bf16Rounded(w)
        add(.rmsNorm, "rmsNorm, bf16 weight", inputs: ["x": xT], weights: ["w": bf16Tensor(w)], expected: ["n": (0..<t).flatMap { r -> [Float] in
            let xs = x[(r * d)..<((r + 1) * d)].map(Double.init)
            let inv = 1 / (xs.map { $0 * $0 }.reduce(0, +) / Double(d) + 1e-6).squareRoot()
            return (0..<d).map { Float(xs[$0] * inv * Double(wBF16[$0])) }
        }], build: { g in
            g.markOutput(g.rmsNorm(g.input("x", shape: [t, d]), g.weight("w", shape: [d]), eps: 1e-6, name: "n"))
        })
        add(.layerNorm, "layerNorm", inputs: ["x": xT], weights: ["w": Tensor(w, shape: [d]), "b": Tensor(b, shape: [d])],
          expected: ["n": (0..<t).flatMap { r -> [Float] in
            let xs = x[(r * d)..<((r + 1) * d)].map(Double.init)
            let mean = xs.reduce(0, +) / Double(d), v = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            return (0..<d).map { Float((xs[$0] - mean) / (v + 1e-5).squareRoot() * Double(w[$0]) + Double(b[$0])) }
        }], build: { g in
            g.markOutput(g.layerNorm(g.input("x", shape: [t, d]), g.weight("w", shape: [d]), g.weight("b", shape: [d]),
                                     eps: 1e-5, name: "n"))
        })

        // Linear, embedding.
        let outF = 7, wl = rand(outF * d, 0.3), bl = rand(outF)
        add(.linear, "linear with bias", inputs: ["x": xT], weights: ["w": Tensor(wl, shape: [outF, d]), "b": Tensor(bl, shape: [outF])],
          expected: ["y": (0..<(t * outF)).map { i in
            let r = i / outF, o = i % outF
            return Float((0..<d).reduce(Double(bl[o])) { $0 + Double(x[r * d + $1]) * Double(wl[o * d + $1]) })
        }], build: { g in
            g.markOutput(g.linear(g.input("x", shape: [t, d]), g.weight("w", shape: [outF, d]), bias: g.weight("b", shape: [outF]), name: "y"))
        })
        let vocab = 9, table = rand(vocab * d), ids: [Int64] = [3, 0, 8, 3]
        add(.embedding, "embedding", inputs: ["ids": Tensor(int64: ids, shape: [4])], weights: ["table": Tensor(table, shape: [vocab, d])],
          expected: ["e": ids.flatMap { table[(Int($0) * d)..<((Int($0) + 1) * d)] }], build: { g in
            g.markOutput(g.embedding(g.weight("table", shape: [vocab, d]), ids: g.input("ids", shape: [4], dtype: .i64), name: "e"))
        })

        // RoPE, half-split and interleaved pairs.
        let heads = 2, hd = 6, pos: [Int64] = [0, 3, 7, 1, 12]
        let xr = rand(t * heads * hd)
        for kind in [RopeKind.standard, .interleaved] {
            let label = kind == .standard ? "rope standard" : "rope interleaved"
            add(.rope, label, inputs: ["x": Tensor(xr, shape: [t, heads * hd]), "p": Tensor(int64: pos, shape: [t])],
              expected: ["r": rope(xr, pos, heads: heads, hd: hd, theta: 10000, interleaved: kind == .interleaved)], build: { g in
                g.markOutput(g.rope(g.input("x", shape: [t, heads * hd]), positions: g.input("p", shape: [t], dtype: .i64),
                                    heads: heads, headDim: hd, theta: 10000, kind: kind, name: "r"))
            })
        }

        // Attention: plain causal, and through the KV cache (write, then attention over the slot).
        let ah = 4, kvh = 2, ahd = 4
        let q = rand(t * ah * ahd), k = rand(t * kvh * ahd), v = rand(t * kvh * ahd)
        let qkv: [String: Tensor] = ["q": Tensor(q, shape: [t, ah * ahd]), "k": Tensor(k, shape: [t, kvh * ahd]),
                                     "v": Tensor(v, shape: [t, kvh * ahd])]
        let want = attention(q, k, v, t: t, heads: ah, kvHeads: kvh, hd: ahd)
        for cached in [false, true] {
            add(cached ? .cachedAttention : .attention, cached ? "attention through the KV cache" : "causal attention", inputs: qkv, cache: cached ? (1, kvh * ahd) : (0, 0), expected: ["o": want], build: { g in
                let spec = AttentionSpec(heads: ah, kvHeads: kvh, headDim: ahd, causal: true, cacheSlot: cached ? 0 : nil)
                g.markOutput(g.attention(q: g.input("q", shape: [t, ah * ahd]), k: g.input("k", shape: [t, kvh * ahd]),
                                         v: g.input("v", shape: [t, kvh * ahd]), spec: spec, name: "o"))
            })
        }

        // Layout.
        add(.rows, "rows", inputs: ["x": xT], expected: ["r": Array(x[(1 * d)..<(4 * d)])], build: { g in g.markOutput(g.rows(g.input("x", shape: [t, d]), 1..<4, name: "r")) })
        add(.poolRows, "poolRows", inputs: ["x": xT], expected: ["p": (0..<(2 * d)).map { i in (x[(i / d * 2) * d + i % d] + x[(i / d * 2 + 1) * d + i % d]) / 2 }], build: { g in g.markOutput(g.poolRows(g.input("x", shape: [t, d]), window: 2, name: "p")) })
        let idx = [4, 0, 4, 2]
        add(.gatherRows, "gatherRows", inputs: ["x": xT], expected: ["r": idx.flatMap { x[($0 * d)..<(($0 + 1) * d)] }], build: { g in g.markOutput(g.gatherRows(g.input("x", shape: [t, d]), idx, name: "r")) })
        add(.reshape, "reshape of an activation and of a weight", inputs: ["x": xT], weights: ["w3": Tensor(wl, shape: [outF, d / 2, 2])],
          expected: ["a": x, "y": (0..<(t * outF)).map { i in
            Float((0..<d).reduce(0.0) { $0 + Double(x[i / outF * d + $1]) * Double(wl[i % outF * d + $1]) })
        }], build: { g in
            let xi = g.input("x", shape: [t, d])
            g.markOutput(g.reshape(xi, [t * d / 4, 4], name: "a"))
            let wv = g.reshape(g.weight("w3", shape: [outF, d / 2, 2]), [outF, d], name: "wv")
            g.markOutput(g.linear(xi, wv, name: "y"))
        })
        add(.softmax, "softmax", inputs: ["x": xT], expected: ["s": (0..<t).flatMap { r -> [Float] in
                let xs = x[(r * d)..<((r + 1) * d)].map(Double.init), m = xs.max() ?? 0
                let e = xs.map { exp($0 - m) }, s = e.reduce(0, +)
                return e.map { Float($0 / s) }
            }], build: { g in g.markOutput(g.softmax(g.input("x", shape: [t, d]), name: "s")) })
        var concatenated: [Float] = []
        for r in 0..<t {
            concatenated += x[(r * d)..<((r + 1) * d)]
            concatenated += y[(r * d)..<((r + 1) * d)]
        }
        add(.concat, "concat on axis 1", inputs: ["x": xT, "y": yT], expected: ["c": concatenated], build: { g in
            g.markOutput(g.concat([g.input("x", shape: [t, d]), g.input("y", shape: [t, d])], axis: 1, name: "c"))
        })
        add(.slice, "slice on axis 1", inputs: ["x": xT], expected: ["s": (0..<t).flatMap { x[($0 * d + 3)..<($0 * d + 8)] }], build: { g in g.markOutput(g.slice(g.input("x", shape: [t, d]), axis: 1, 3..<8, name: "s")) })
        add(.permute, "permute", inputs: ["x": xT], expected: ["p": (0..<(t * d)).map { i in x[(i % t) * d + i / t] }], build: { g in g.markOutput(g.permute(g.input("x", shape: [t, d]), [1, 0], name: "p")) })

        // Convolutions: x [Cin, L].
        let cin = 4, len = 11, cout = 6, kk = 3
        let xc = rand(cin * len), wc = rand(cout * (cin / 2) * kk, 0.4), bc = rand(cout)
        add(.conv1d, "conv1d stride 2, padding 2, dilation 2, groups 2", inputs: ["x": Tensor(xc, shape: [cin, len])],
          weights: ["w": Tensor(wc, shape: [cout, cin / 2, kk]), "b": Tensor(bc, shape: [cout])],
          expected: ["y": conv1d(xc, wc, bc, cin: cin, len: len, cout: cout, k: kk, stride: 2, padding: 2, dilation: 2, groups: 2)], build: { g in
            g.markOutput(g.conv1d(g.input("x", shape: [cin, len]), g.weight("w", shape: [cout, cin / 2, kk]),
                                  bias: g.weight("b", shape: [cout]), stride: 2, padding: 2, dilation: 2, groups: 2, name: "y"))
        })
        // Groups 1 with ≥ 16 output channels and positions: the GEMM form on a device that has one (im2col + GEMM).
        let cin1 = 8, len1 = 40, cout1 = 24, xg = rand(cin1 * len1), wg = rand(cout1 * cin1 * kk, 0.4), bg = rand(cout1)
        add(.conv1d, "conv1d groups 1, padding 2, dilation 2 (GEMM-sized)", inputs: ["x": Tensor(xg, shape: [cin1, len1])],
          weights: ["w": Tensor(wg, shape: [cout1, cin1, kk]), "b": Tensor(bg, shape: [cout1])],
          expected: ["y": conv1d(xg, wg, bg, cin: cin1, len: len1, cout: cout1, k: kk, stride: 1, padding: 2, dilation: 2, groups: 1)], build: { g in
            g.markOutput(g.conv1d(g.input("x", shape: [cin1, len1]), g.weight("w", shape: [cout1, cin1, kk]),
                                  bias: g.weight("b", shape: [cout1]), stride: 1, padding: 2, dilation: 2, groups: 1, name: "y"))
        })
        add(.conv1d, "conv1d groups 1, stride 2, no bias (GEMM-sized)", inputs: ["x": Tensor(xg, shape: [cin1, len1])],
          weights: ["w": Tensor(wg, shape: [cout1, cin1, kk])],
          expected: ["y": conv1d(xg, wg, [Float](repeating: 0, count: cout1), cin: cin1, len: len1, cout: cout1, k: kk, stride: 2, padding: 1, dilation: 1, groups: 1)], build: { g in
            g.markOutput(g.conv1d(g.input("x", shape: [cin1, len1]), g.weight("w", shape: [cout1, cin1, kk]),
                                  bias: nil, stride: 2, padding: 1, dilation: 1, groups: 1, name: "y"))
        })
        let wt = rand(cin * cout * kk, 0.4)
        add(.convTranspose1d, "convTranspose1d stride 2, padding 1", inputs: ["x": Tensor(xc, shape: [cin, len])], weights: ["w": Tensor(wt, shape: [cin, cout, kk]), "b": Tensor(bc, shape: [cout])],
          expected: ["y": convTranspose1d(xc, wt, bc, cin: cin, len: len, cout: cout, k: kk, stride: 2, padding: 1)], build: { g in
            g.markOutput(g.convTranspose1d(g.input("x", shape: [cin, len]), g.weight("w", shape: [cin, cout, kk]),
                                           bias: g.weight("b", shape: [cout]), stride: 2, padding: 1, name: "y"))
        })

        // A fused op: the backend hands the op's own kernel its inputs, weights widened to f32.
        add(.fused, "fused op with a bf16 weight", inputs: ["x": xT], weights: ["w": bf16Tensor(w)], expected: ["f": x.indices.map { x[$0] * wBF16[$0 % d] + 1 }], build: { g in
            g.markOutput(g.fused(RowAffine(), [g.input("x", shape: [t, d]), g.weight("w", shape: [d])], shape: [t, d], name: "f"))
        })
        return out
    }

    /// A fused op for the suite: y = x ⊙ w (a row broadcast) + 1, with a CPU kernel only.
    public struct RowAffine: FusedOp {
        public init() {}
        public var description: String { "conformance.row_affine" }
        public func kernel(for deviceKind: String) -> FusedKernel? {
            guard deviceKind == "cpu" else { return nil }
            return FusedKernel { inputs, out, _ in
                let x = try inputs[0].floats(), w = try inputs[1].floats()
                let y = x.indices.map { x[$0] * w[$0 % w.count] + 1 }
                try y.withUnsafeBytes { src in
                    guard out.byteCount == src.count else {
                        throw OmniError.invalidArgument(name: "out", expected: "\(src.count) bytes", actual: "\(out.byteCount)")
                    }
                    out.mutableRawPointer.copyMemory(from: src.baseAddress!, byteCount: src.count)
                }
            }
        }
    }

    // MARK: references (Double)

    static func bf16Rounded(_ v: [Float]) -> [Float] {
        v.map { f in
            let u = f.bitPattern
            let r = (u &+ 0x7FFF &+ ((u >> 16) & 1)) & 0xFFFF_0000
            return Float(bitPattern: r)
        }
    }

    static func bf16Tensor(_ v: [Float]) -> Tensor {
        let t = Tensor(zeros: [v.count], dtype: .bf16)
        let p = t.mutableRawPointer.assumingMemoryBound(to: UInt16.self)
        for (i, f) in bf16Rounded(v).enumerated() { p[i] = UInt16(f.bitPattern >> 16) }
        return t
    }

    static func rope(_ x: [Float], _ pos: [Int64], heads: Int, hd: Int, theta: Double, interleaved: Bool) -> [Float] {
        var y = x
        let half = hd / 2, width = heads * hd
        for i in 0..<pos.count { for h in 0..<heads { for j in 0..<half {
            let angle = Double(pos[i]) / pow(theta, Double(2 * j) / Double(hd))
            let ia = interleaved ? 2 * j : j, ib = interleaved ? 2 * j + 1 : j + half
            let a = Double(x[i * width + h * hd + ia]), b = Double(x[i * width + h * hd + ib])
            y[i * width + h * hd + ia] = Float(a * cos(angle) - b * sin(angle))
            y[i * width + h * hd + ib] = Float(b * cos(angle) + a * sin(angle))
        } } }
        return y
    }

    static func attention(_ q: [Float], _ k: [Float], _ v: [Float], t: Int, heads: Int, kvHeads: Int, hd: Int) -> [Float] {
        var out = [Float](repeating: 0, count: t * heads * hd)
        let group = heads / kvHeads, scale = 1 / Double(hd).squareRoot()
        for h in 0..<heads { for i in 0..<t {
            let kh = h / group
            let s = (0...i).map { j in (0..<hd).reduce(0.0) { $0 + Double(q[i * heads * hd + h * hd + $1]) * Double(k[j * kvHeads * hd + kh * hd + $1]) } * scale }
            let m = s.max() ?? 0, e = s.map { exp($0 - m) }, z = e.reduce(0, +)
            for dd in 0..<hd {
                out[i * heads * hd + h * hd + dd] = Float((0...i).reduce(0.0) { $0 + e[$1] / z * Double(v[$1 * kvHeads * hd + kh * hd + dd]) })
            }
        } }
        return out
    }

    static func conv1d(_ x: [Float], _ w: [Float], _ b: [Float], cin: Int, len: Int, cout: Int, k: Int, stride: Int,
                       padding: Int, dilation: Int, groups: Int) -> [Float] {
        let lOut = (len + 2 * padding - dilation * (k - 1) - 1) / stride + 1, cg = cin / groups, og = cout / groups
        var y = [Float](repeating: 0, count: cout * lOut)
        for co in 0..<cout { for l in 0..<lOut {
            var s = Double(b[co])
            let g = co / og
            for ci in 0..<cg { for kk in 0..<k {
                let p = l * stride - padding + kk * dilation
                if p >= 0 && p < len { s += Double(w[(co * cg + ci) * k + kk]) * Double(x[(g * cg + ci) * len + p]) }
            } }
            y[co * lOut + l] = Float(s)
        } }
        return y
    }

    static func convTranspose1d(_ x: [Float], _ w: [Float], _ b: [Float], cin: Int, len: Int, cout: Int, k: Int,
                                stride: Int, padding: Int) -> [Float] {
        let lOut = (len - 1) * stride - 2 * padding + k
        var y = (0..<(cout * lOut)).map { Double(b[$0 / lOut]) }
        for ci in 0..<cin { for i in 0..<len { for co in 0..<cout { for kk in 0..<k {
            let p = i * stride + kk - padding
            if p >= 0 && p < lOut { y[co * lOut + p] += Double(x[ci * len + i]) * Double(w[(ci * cout + co) * k + kk]) }
        } } } }
        return y.map(Float.init)
    }
}
