import OmniCore

/// The weight nodes of a graph that only `linear` nodes read, and only as their weight operand (not x, not the bias),
/// and that are not graph outputs: the ones the CPU executor may bind in a decode kernel's own layout
/// (`TensorLayout.q8_0Rows8`), since every reader of such a node is a linear kernel that takes that layout.
struct LinearWeights {
    let nodes: Set<Int>

    init(graph: Graph) {
        var linear = Set<Int>(), other = Set<Int>()
        for node in graph.nodes {
            if case let .linear(x, w, b) = node.op {
                linear.insert(w.index)
                other.insert(x.index)
                if let b { other.insert(b.index) }
            } else {
                for v in node.op.inputs { other.insert(v.index) }
            }
        }
        for v in graph.outputs { other.insert(v.index) }
        nodes = Set(linear.subtracting(other).filter { if case .weight = graph.nodes[$0].op { true } else { false } })
    }
}
