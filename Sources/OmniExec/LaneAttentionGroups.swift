import OmniCore

/// A batched decode step's attention, as `DecoderStack.laneAttention` builds it: for every lane b (a session's row),
/// `rows(q, b)`, `rows(k, b)`, `rows(v, b)`, the `cacheWrite` of that K/V row into the lane's cache slot and the
/// `cachedAttention` of its q row, then one `concat` of the lanes' outputs along rows — 5·B + 1 nodes and B attention
/// calls, each its own parallel region over a few heads. The CPU executor runs such a run of nodes as one
/// (`Executor.runLaneAttention`). Read off the graph's structure; the executor still checks the tensors.
struct LaneAttentionGroups {
    /// One lane: its cache slot, its attention node and that node's spec.
    struct Lane {
        let slot: Int
        let attention: Int
        let spec: AttentionSpec
    }
    /// One group: nodes `first … concat`, reading q [B, H·hd], k and v [B, KV·hd].
    struct Group {
        let first: Int
        let concat: Int
        let q: ValueID, k: ValueID, v: ValueID
        let lanes: [Lane]
    }
    /// Groups by their first node's index.
    let groups: [Int: Group]

    init(graph g: Graph) {
        // Readers of every value, to check that a group's intermediates are read only inside it.
        var readers = [Int](repeating: 0, count: g.nodes.count)
        for node in g.nodes { for v in node.op.inputs { readers[v.index] += 1 } }
        let outputs = Set(g.outputs.map(\.index))
        var groups: [Int: Group] = [:]
        for (c, node) in g.nodes.enumerated() {
            guard case let .concat(parts, axis) = node.op, axis == 0, parts.count > 1,
                  let group = Self.match(g, concat: c, parts: parts, readers: readers, outputs: outputs) else { continue }
            groups[group.first] = group
        }
        self.groups = groups
    }

    /// The group ending at concat `c`, when its parts and the nodes before it are exactly the lane pattern.
    private static func match(_ g: Graph, concat c: Int, parts: [ValueID], readers: [Int], outputs: Set<Int>) -> Group? {
        let n = parts.count
        let first = c - 5 * n
        guard first >= 0 else { return nil }
        var qkv: (ValueID, ValueID, ValueID)?
        var lanes: [Lane] = []
        for (b, part) in parts.enumerated() {
            let base = first + 5 * b
            // rows q, rows k, rows v, cacheWrite, cachedAttention — in this order, each read once, none an output.
            guard part.index == base + 4,
                  case let .rows(q, rq) = g.nodes[base].op, case let .rows(k, rk) = g.nodes[base + 1].op,
                  case let .rows(v, rv) = g.nodes[base + 2].op,
                  case let .cacheWrite(kw, vw, slot) = g.nodes[base + 3].op, kw.index == base + 1, vw.index == base + 2,
                  case let .cachedAttention(qa, written, spec) = g.nodes[base + 4].op, qa.index == base,
                  written.index == base + 3, spec.cacheSlot == slot,
                  rq == b..<(b + 1), rk == rq, rv == rq,
                  (base...(base + 4)).allSatisfy({ readers[$0] == 1 && !outputs.contains($0) })
            else { return nil }
            if let (q0, k0, v0) = qkv {
                guard q == q0, k == k0, v == v0 else { return nil }
            } else {
                guard g[q].shape == [n, g[q].shape[-1]], g[k].shape == [n, g[k].shape[-1]], g[v].shape == g[k].shape
                else { return nil }
                qkv = (q, k, v)
            }
            lanes.append(Lane(slot: slot, attention: base + 4, spec: spec))
        }
        guard let (q, k, v) = qkv else { return nil }
        return Group(first: first, concat: c, q: q, k: k, v: v, lanes: lanes)
    }
}
