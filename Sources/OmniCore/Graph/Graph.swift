/// One node: an operation, the shape of its f32 (or i64 for inputs) result, and a stable name.
public struct Node: Sendable, Hashable {
    public var op: Op
    /// Result shape.
    public var shape: Shape
    /// Result element type (f32 activations; inputs may be i64; weights keep their stored dtype).
    public var dtype: DType
    /// Unique name (`thinker.L3.attn_out`) used to fetch intermediates for layer-by-layer comparison.
    public var name: String
}

/// A computation graph built by model code and run by the executor. Nodes are appended in a valid
/// topological order (every input precedes its user), so builders describe computation top-down.
///
/// Builders check shapes as they go (a mismatch is a programmer error in model code and traps with
/// both shapes named); shapes of weights are declared by the model and checked against the checkpoint
/// when the executor binds them.
///
/// Two graphs are equal when their nodes (ops, shapes, dtypes, names) and outputs are; `structureHash` is folded
/// as nodes are appended, so executors key their plan caches by the graph itself at no extra cost.
public struct Graph: Sendable, Hashable {
    public private(set) var nodes: [Node] = []
    private var names: [String: ValueID] = [:]
    /// Values the caller wants back after a run.
    public private(set) var outputs: [ValueID] = []
    /// A hash of every node and output so far (per process, as `Hasher` is seeded per process).
    public private(set) var structureHash = 0

    public init() {}

    /// The node producing `v`.
    public subscript(v: ValueID) -> Node { nodes[v.index] }
    /// The value named `name`, if any.
    public func value(named name: String) -> ValueID? { names[name] }

    /// Appends a node. Precondition: the name is unused.
    @discardableResult
    public mutating func add(_ op: Op, shape: Shape, dtype: DType = .f32, name: String) -> ValueID {
        precondition(names[name] == nil, "duplicate node name \(name)")
        let id = ValueID(nodes.count)
        let node = Node(op: op, shape: shape, dtype: dtype, name: name)
        nodes.append(node)
        names[name] = id
        fold(node)
        return id
    }

    /// Marks `v` as an output of the graph.
    public mutating func markOutput(_ v: ValueID) {
        if !outputs.contains(v) { outputs.append(v); fold(v) }
    }

    private mutating func fold<T: Hashable>(_ item: T) {
        var h = Hasher()
        h.combine(structureHash)
        h.combine(item)
        structureHash = h.finalize()
    }

    public static func == (a: Graph, b: Graph) -> Bool {
        a.isSameInstance(as: b) || (a.structureHash == b.structureHash && a.nodes == b.nodes && a.outputs == b.outputs)
    }

    /// Whether `other` is this very graph (a copy of the same value: the same node storage and outputs), in O(1).
    /// Two equal graphs built separately are equal but not the same instance; comparing those walks every node.
    public func isSameInstance(as other: Graph) -> Bool {
        structureHash == other.structureHash && nodes.count == other.nodes.count && outputs == other.outputs
            && nodes.withUnsafeBufferPointer { a in other.nodes.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(structureHash) }

    // MARK: builders (each states input and output shapes)

    /// A run-time input of `shape` and `dtype`.
    public mutating func input(_ name: String, shape: Shape, dtype: DType = .f32) -> ValueID {
        add(.input(name: name), shape: shape, dtype: dtype, name: name)
    }

    /// Checkpoint tensor `key`, declared with the shape the model expects.
    public mutating func weight(_ key: String, shape: Shape) -> ValueID {
        if let v = names[key] { precondition(self[v].shape == shape, "\(key) declared twice with different shapes"); return v }
        return add(.weight(key: key), shape: shape, dtype: .f32, name: key)
    }

    /// ids [T] (i64), table [V, D] → [T, D].
    public mutating func embedding(_ table: ValueID, ids: ValueID, name: String) -> ValueID {
        let t = self[ids].shape.elementCount
        return add(.embedding(table: table, ids: ids), shape: [t, self[table].shape[1]], name: name)
    }

    /// x [T, in], W [out, in], b [out] → [T, out].
    public mutating func linear(_ x: ValueID, _ w: ValueID, bias: ValueID? = nil, name: String) -> ValueID {
        let xs = self[x].shape, ws = self[w].shape
        precondition(xs[-1] == ws[1], "\(name): x \(xs) · W \(ws)ᵀ")
        if let b = bias { precondition(self[b].shape == [ws[0]], "\(name): bias \(self[b].shape) for W \(ws)") }
        return add(.linear(x: x, weight: w, bias: bias), shape: [xs[0], ws[0]], name: name)
    }

    /// x [T, D], w [D] → [T, D].
    public mutating func rmsNorm(_ x: ValueID, _ w: ValueID, eps: Float, name: String) -> ValueID {
        precondition(self[w].shape == [self[x].shape[-1]], "\(name): weight \(self[w].shape) for x \(self[x].shape)")
        return add(.rmsNorm(x: x, weight: w, eps: eps), shape: self[x].shape, name: name)
    }

    /// x [T, D], optional w/b [D] → [T, D].
    public mutating func layerNorm(_ x: ValueID, _ w: ValueID?, _ b: ValueID?, eps: Float, name: String) -> ValueID {
        add(.layerNorm(x: x, weight: w, bias: b, eps: eps), shape: self[x].shape, name: name)
    }

    /// a + b → shape of a.
    public mutating func add(_ a: ValueID, _ b: ValueID, name: String) -> ValueID {
        precondition(self[a].shape == self[b].shape || self[b].shape == [self[a].shape[-1]],
                     "\(name): \(self[a].shape) + \(self[b].shape)")
        return add(.add(a, b), shape: self[a].shape, name: name)
    }

    /// a ⊙ b → shape of a; b may be [D], broadcast over the rows of a [T, D] (AdaLN's per-channel scale).
    public mutating func mul(_ a: ValueID, _ b: ValueID, name: String) -> ValueID {
        precondition(self[a].shape == self[b].shape || self[b].shape == [self[a].shape[-1]],
                     "\(name): \(self[a].shape) ⊙ \(self[b].shape)")
        return add(.mul(a, b), shape: self[a].shape, name: name)
    }

    /// silu(gate) ⊙ up, both [T, I] → [T, I].
    public mutating func swiglu(gate: ValueID, up: ValueID, name: String) -> ValueID {
        precondition(self[gate].shape == self[up].shape, "\(name): \(self[gate].shape) vs \(self[up].shape)")
        return add(.swiglu(gate: gate, up: up), shape: self[gate].shape, name: name)
    }

    /// GELU of x → same shape.
    public mutating func gelu(_ x: ValueID, tanh: Bool, name: String) -> ValueID {
        add(.gelu(x, tanh: tanh), shape: self[x].shape, name: name)
    }

    /// x [T, heads·headDim], positions [3, T] or [T] (i64) → rotated x, same shape.
    public mutating func rope(_ x: ValueID, positions: ValueID, heads: Int, headDim: Int, theta: Float,
                              kind: RopeKind, name: String) -> ValueID {
        precondition(self[x].shape[-1] == heads * headDim, "\(name): x \(self[x].shape) for \(heads)×\(headDim)")
        if case let .multimodal(sections) = kind {
            precondition(sections.reduce(0, +) * 2 == headDim, "\(name): mrope sections \(sections) for headDim \(headDim)")
        }
        if case .axial2D = kind { precondition(headDim % 4 == 0, "\(name): axial rope needs headDim % 4 == 0, got \(headDim)") }
        return add(.rope(x: x, positions: positions, heads: heads, headDim: headDim, theta: theta, kind: kind),
                   shape: self[x].shape, name: name)
    }

    /// q [T, H·hd], k/v [T, KV·hd] → [T, H·hd]; `mask` is an additive [T, T] f32 mask (not with a KV cache).
    /// With `spec.cacheSlot` this is two nodes: `cacheWrite` of k, v (named `<name>.cache_write`) and a
    /// `cachedAttention` over the whole slot (named `name`).
    public mutating func attention(q: ValueID, k: ValueID, v: ValueID, mask: ValueID? = nil, spec: AttentionSpec,
                                   name: String) -> ValueID {
        precondition(self[q].shape[-1] == spec.heads * spec.headDim, "\(name): q \(self[q].shape)")
        precondition(self[k].shape[-1] == spec.kvHeads * spec.headDim, "\(name): k \(self[k].shape)")
        precondition(self[v].shape == self[k].shape, "\(name): v \(self[v].shape) vs k \(self[k].shape)")
        precondition(spec.heads % spec.kvHeads == 0, "\(name): heads \(spec.heads) % kvHeads \(spec.kvHeads)")
        if let s = spec.segments {
            precondition(s.first == 0 && s.last == self[q].shape[0] && zip(s, s.dropFirst()).allSatisfy { $0 < $1 },
                         "\(name): segments \(s) for \(self[q].shape[0]) queries")
            precondition(spec.cacheSlot == nil, "\(name): segments with a KV cache")
        }
        if let m = mask {
            let t = self[q].shape[0]
            precondition(self[m].shape == [t, self[k].shape[0]] && self[m].dtype == .f32 && spec.cacheSlot == nil,
                         "\(name): mask \(self[m].shape) for \(t) queries over \(self[k].shape[0]) keys, without a cache")
        }
        if let slot = spec.cacheSlot {
            let written = add(.cacheWrite(k: k, v: v, slot: slot), shape: [0], name: name + ".cache_write")
            return add(.cachedAttention(q: q, written: written, spec: spec), shape: self[q].shape, name: name)
        }
        return add(.attention(q: q, k: k, v: v, mask: mask, spec: spec), shape: self[q].shape, name: name)
    }

    /// Rows `range` of x [T, D] → [range.count, D].
    public mutating func rows(_ x: ValueID, _ range: Range<Int>, name: String) -> ValueID {
        precondition(range.lowerBound >= 0 && range.upperBound <= self[x].shape[0], "\(name): rows \(range)")
        return add(.rows(x, range: range), shape: [range.count, self[x].shape[-1]], name: name)
    }

    /// Mean of every `window` consecutive rows of x [T, D] → [T / window, D] (a remainder is dropped).
    public mutating func poolRows(_ x: ValueID, window: Int, name: String) -> ValueID {
        precondition(window >= 1 && self[x].shape.rank == 2 && self[x].shape[0] / window >= 1,
                     "\(name): pool \(self[x].shape) by \(window)")
        return add(.poolRows(x, window: window), shape: [self[x].shape[0] / window, self[x].shape[1]], name: name)
    }

    /// Rows of x [T, D] in `indices` order → [indices.count, D].
    public mutating func gatherRows(_ x: ValueID, _ indices: [Int], name: String) -> ValueID {
        let s = self[x].shape
        precondition(s.rank == 2 && indices.allSatisfy { $0 >= 0 && $0 < s[0] }, "\(name): gather from \(s)")
        return add(.gatherRows(x, indices: indices), shape: [indices.count, s[1]], name: name)
    }

    /// x under `shape` (same element count, row-major).
    public mutating func reshape(_ x: ValueID, _ shape: Shape, name: String) -> ValueID {
        precondition(self[x].shape.elementCount == shape.elementCount, "\(name): reshape \(self[x].shape) to \(shape)")
        return add(.reshape(x, shape: shape), shape: shape, dtype: self[x].dtype, name: name)
    }

    /// Softmax over the last axis → same shape.
    public mutating func softmax(_ x: ValueID, name: String) -> ValueID {
        add(.softmax(x), shape: self[x].shape, name: name)
    }

    /// Concatenation of `xs` along `axis` (other dimensions must match).
    public mutating func concat(_ xs: [ValueID], axis: Int, name: String) -> ValueID {
        precondition(!xs.isEmpty, "\(name): nothing to concatenate")
        var dims = self[xs[0]].shape.dims
        for x in xs.dropFirst() {
            let d = self[x].shape.dims
            precondition(d.count == dims.count && (0..<d.count).allSatisfy { $0 == axis || d[$0] == dims[$0] },
                         "\(name): cannot concatenate \(self[x].shape) to \(Shape(dims)) on axis \(axis)")
            dims[axis] += d[axis]
        }
        return add(.concat(xs, axis: axis), shape: Shape(dims), name: name)
    }

    /// `range` of dimension `axis` of x.
    public mutating func slice(_ x: ValueID, axis: Int, _ range: Range<Int>, name: String) -> ValueID {
        var dims = self[x].shape.dims
        precondition(range.lowerBound >= 0 && range.upperBound <= dims[axis], "\(name): slice \(range) of axis \(axis) in \(Shape(dims))")
        dims[axis] = range.count
        return add(.slice(x, axis: axis, range: range), shape: Shape(dims), name: name)
    }

    /// x with dimensions reordered by `axes`.
    public mutating func permute(_ x: ValueID, _ axes: [Int], name: String) -> ValueID {
        let d = self[x].shape.dims
        precondition(axes.sorted() == Array(0..<d.count), "\(name): permutation \(axes) of rank \(d.count)")
        return add(.permute(x, axes: axes), shape: Shape(axes.map { d[$0] }), name: name)
    }

    /// x [Cin, L], weight [Cin, Cout, K], bias [Cout] → [Cout, (L − 1)·stride − 2·padding + K].
    public mutating func convTranspose1d(_ x: ValueID, _ w: ValueID, bias: ValueID?, stride: Int, padding: Int, name: String) -> ValueID {
        let xs = self[x].shape, ws = self[w].shape
        precondition(xs.rank == 2 && ws.rank == 3 && xs[0] == ws[0] && stride >= 1 && padding >= 0, "\(name): x \(xs) with weight \(ws)")
        let lOut = (xs[1] - 1) * stride - 2 * padding + ws[2]
        precondition(lOut > 0, "\(name): output length \(lOut)")
        return add(.convTranspose1d(x: x, weight: w, bias: bias, stride: stride, padding: padding), shape: [ws[1], lOut], name: name)
    }

    /// A fused op over `inputs` with result `shape` (model code wraps this in a builder that checks shapes).
    public mutating func fused(_ op: some FusedOp, _ inputs: [ValueID], shape: Shape, name: String) -> ValueID {
        add(.fused(AnyFusedOp(op), inputs: inputs), shape: shape, name: name)
    }

    /// x · factor.
    public mutating func scale(_ x: ValueID, _ factor: Float, name: String) -> ValueID {
        add(.scale(x, factor: factor), shape: self[x].shape, name: name)
    }

    /// f(x) elementwise (relu, sigmoid, tanh, clamped sqrt) → same shape.
    public mutating func unary(_ x: ValueID, _ kind: UnaryKind, name: String) -> ValueID {
        add(.unary(x, kind), shape: self[x].shape, name: name)
    }

    /// x [C, L] → [C, left + L + right], mirrored about the edge samples (reflect padding; left, right < L).
    public mutating func reflectPad(_ x: ValueID, left: Int, right: Int, name: String) -> ValueID {
        let s = self[x].shape
        precondition(s.rank == 2 && left >= 0 && right >= 0 && left < s[1] && right < s[1],
                     "\(name): reflect pad (\(left), \(right)) of \(s) needs padding < length")
        return add(.reflectPad(x, left: left, right: right), shape: [s[0], left + s[1] + right], name: name)
    }

    /// x [Cin, L], weight [Cout, Cin/groups, K], bias [Cout] → [Cout, (L + 2p − d(K−1) − 1)/s + 1].
    public mutating func conv1d(_ x: ValueID, _ w: ValueID, bias: ValueID?, stride: Int = 1, padding: Int = 0,
                                dilation: Int = 1, groups: Int = 1, name: String) -> ValueID {
        let xs = self[x].shape, ws = self[w].shape
        precondition(xs.rank == 2 && ws.rank == 3 && xs[0] == ws[1] * groups && ws[0] % groups == 0,
                     "\(name): x \(xs) with weight \(ws), groups \(groups)")
        let lOut = (xs[1] + 2 * padding - dilation * (ws[2] - 1) - 1) / stride + 1
        precondition(lOut > 0, "\(name): output length \(lOut)")
        return add(.conv1d(x: x, weight: w, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups),
                   shape: [ws[0], lOut], name: name)
    }
}
