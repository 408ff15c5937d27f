import OmniCore

/// Sibling decode linears of a graph: runs of `linear` nodes over one and the same input of 1 … `Kernels.smallBatchRows`
/// rows (a decode step, or a batched one) with nothing but weight nodes between them — a decoder layer's q, k and v,
/// its gate and up — which the CPU executor runs as one parallel region (`Kernels.linearDecode` for one row,
/// `Kernels.linearSmallBatch` for more) instead of one per linear. Read off the graph's structure; the executor
/// still checks the bound weights' dtypes and the members' buffers before it fuses a group.
struct DecodeGroups {
    /// One group: its member linear nodes in graph order (the first is where the group runs) and the last node
    /// index it covers (weight nodes between the members are bound by the group).
    struct Group {
        let members: [Int]
        let last: Int
    }
    /// Groups by their first member's node index.
    let groups: [Int: Group]

    init(graph: Graph) {
        var groups: [Int: Group] = [:]
        let nodes = graph.nodes
        var i = 0
        while i < nodes.count {
            guard case let .linear(x, _, _) = nodes[i].op,
                  graph[x].shape.elementCount <= Kernels.smallBatchRows * graph[x].shape[-1] else {
                i += 1
                continue
            }
            var members = [i], last = i, j = i + 1
            scan: while j < nodes.count {
                switch nodes[j].op {
                case .weight: break
                case let .linear(y, _, _) where y == x: members.append(j); last = j
                default: break scan
                }
                j += 1
            }
            if members.count > 1 { groups[i] = Group(members: members, last: last) }
            i = last + 1
        }
        self.groups = groups
    }
}
