import OmniCore

/// The weight nodes of a graph that linears read as their weight operand and nothing else reads except embeddings as
/// their table (tied embeddings: the LM head and the token lookup share one matrix), and that are not graph outputs:
/// the ones the CPU executor may bind in a decode kernel's own layout (`TensorLayout.q8_0Rows8`), since every reader
/// of such a node takes that layout (`Kernels.embedding` reads the interleaved rows too). A table only embeddings read
/// is not among them (nothing would gain from the layout).
struct LinearWeights {
    let nodes: Set<Int>

    init(graph: Graph) {
        var linear = Set<Int>(), other = Set<Int>()
        for node in graph.nodes {
            switch node.op {
            case let .linear(x, w, b):
                linear.insert(w.index)
                other.insert(x.index)
                if let b { other.insert(b.index) }
            case let .embedding(_, ids):
                other.insert(ids.index)
            default:
                for v in node.op.inputs { other.insert(v.index) }
            }
        }
        for v in graph.outputs { other.insert(v.index) }
        nodes = Set(linear.subtracting(other).filter { if case .weight = graph.nodes[$0].op { true } else { false } })
    }
}
