import OmniCore

/// A toy decoder for cache and executor tests: `layers` residual attention blocks (q/k/v/o linears, no norm or MLP)
/// over x [rows, d], output `L{layers-1}.out`, with its weights drawn from a seeded generator.
public struct ToyAttentionStack: Sendable {
    public let layers: Int, d: Int, heads: Int, kvHeads: Int, headDim: Int

    public init(layers: Int, d: Int, heads: Int, kvHeads: Int, headDim: Int) {
        self.layers = layers
        self.d = d
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    /// The name of the graph's output.
    public var output: String { "L\(layers - 1).out" }

    /// Causal attention of layer `l`: cached in slot `l` when `cached`, through `backendChain` (nil: the default).
    public func spec(layer l: Int, cached: Bool, backendChain: [String]? = nil) -> AttentionSpec {
        var s = AttentionSpec(heads: heads, kvHeads: kvHeads, headDim: headDim, causal: true, cacheSlot: cached ? l : nil)
        if let backendChain { s.backendChain = backendChain }
        return s
    }

    /// The graph over `rows` rows of x; `attention(&g, l, q, k, v)` builds layer l's attention (by default one
    /// `attention` node with `spec(layer: l, cached: true)`).
    public func graph(rows: Int, attention: ((inout Graph, Int, ValueID, ValueID, ValueID) -> ValueID)? = nil) -> Graph {
        var g = Graph()
        var x = g.input("x", shape: [rows, d])
        for l in 0..<layers {
            let q = g.linear(x, g.weight("L\(l).wq", shape: [heads * headDim, d]), name: "L\(l).q")
            let k = g.linear(x, g.weight("L\(l).wk", shape: [kvHeads * headDim, d]), name: "L\(l).k")
            let v = g.linear(x, g.weight("L\(l).wv", shape: [kvHeads * headDim, d]), name: "L\(l).v")
            let a = attention?(&g, l, q, k, v)
                ?? g.attention(q: q, k: k, v: v, spec: spec(layer: l, cached: true), name: "L\(l).attn")
            x = g.add(x, g.linear(a, g.weight("L\(l).wo", shape: [d, heads * headDim]), name: "L\(l).o"), name: "L\(l).out")
        }
        g.markOutput(x)
        return g
    }

    /// Every layer's q/k/v/o weights, N(0, 0.3²).
    public func weights(_ rng: inout SeededGenerator) -> InMemoryWeights {
        var w: [String: Tensor] = [:]
        for l in 0..<layers {
            for (name, shape) in [("wq", [heads * headDim, d]), ("wk", [kvHeads * headDim, d]), ("wv", [kvHeads * headDim, d]),
                                  ("wo", [d, heads * headDim])] {
                let s = Shape(shape)
                w["L\(l).\(name)"] = Tensor((0..<s.elementCount).map { _ in rng.normal() * 0.3 }, shape: s)
            }
        }
        return InMemoryWeights(w)
    }
}
