/// The schedule of one graph: node order, and an arena offset for every activation, chosen by liveness so that
/// buffers whose lifetimes do not overlap share memory. Planned once, run many times, by any executor: it only
/// reads the graph's structure (`Op.inputs`), never a device, so a second backend reuses it as is.
public struct ExecutionPlan: Sendable {
    /// The graph this plan runs.
    public let graph: Graph
    /// Byte offset in the arena of each node's result (nil for inputs and weights, which are bound, not allocated).
    public let offsets: [Int?]
    /// Bytes the arena needs: the peak activation memory of a run.
    public let arenaBytes: Int
    /// Sum of all activation sizes (what a planner without reuse would need).
    public let unsharedBytes: Int
    /// Weight keys in the order their nodes appear, for the disk tier's prefetch.
    public let weightKeys: [String]
    /// Node index → weight keys whose last reader is that node (released right after it runs).
    public let releaseAfter: [Int: [String]]

    /// Plans `graph`, keeping `keep` names (and the graph's outputs) alive until the end. `holdUntil` maps a node
    /// index to a later node index its result must outlive: an executor that runs several nodes as one kernel (a
    /// fused group, which reads every member's inputs while writing every member's output) holds the group's inputs
    /// until the group's last node, so that no member's output is given the memory of an input still to be read.
    /// `inPlace` names nodes whose kernel may write over an input element by element (y[i] from x[i] alone, as an
    /// elementwise GPU kernel): such a node takes the memory of an input of its size that dies with it, first input
    /// first, instead of a new slot (SwiGLU's output over the gate halves the MLP's peak). The CPU plans without it.
    public init(graph: Graph, keep: Set<String> = [], holdUntil: [Int: Int] = [:], inPlace: Set<Int> = []) {
        self.graph = graph
        let n = graph.nodes.count
        var lastUse = [Int](repeating: -1, count: n)
        for (i, node) in graph.nodes.enumerated() {
            for input in node.op.inputs { lastUse[input.index] = i }
        }
        // A reshaped weight is a view: the weight lives as long as the view's readers.
        for (i, node) in graph.nodes.enumerated() {
            if case let .reshape(x, _) = node.op, graph[x].op.isWeight { lastUse[x.index] = max(lastUse[x.index], lastUse[i]) }
        }
        for (v, until) in holdUntil where v >= 0 && v < n && lastUse[v] >= 0 { lastUse[v] = max(lastUse[v], min(until, n)) }
        for o in graph.outputs { lastUse[o.index] = n }
        for (i, node) in graph.nodes.enumerated() where keep.contains(node.name) { lastUse[i] = n }

        var offsets = [Int?](repeating: nil, count: n)
        var free: [(offset: Int, size: Int)] = []   // sorted by offset, coalesced
        var top = 0
        var unshared = 0
        var keys: [String] = []
        var expiring = [[Int]](repeating: [], count: n + 1)
        var inherited: Set<Int> = []
        for (i, node) in graph.nodes.enumerated() {
            switch node.op {
            case let .weight(key): keys.append(key); continue
            case .input: continue
            case let .reshape(x, _) where graph[x].op.isWeight: continue   // a view of the stored weight
            default: break
            }
            let size = Self.align(node.dtype.byteCount(elements: node.shape.elementCount) ?? 0)
            unshared += size
            var taken: Int?
            if inPlace.contains(i) {
                taken = node.op.inputs.map(\.index).first { v in
                    lastUse[v] == i && offsets[v] != nil && !inherited.contains(v)
                        && Self.align(graph.nodes[v].dtype.byteCount(elements: graph.nodes[v].shape.elementCount) ?? 0) == size
                }
            }
            // In place over a dying input; else first fit in the free list; else grow the arena.
            if let v = taken {
                offsets[i] = offsets[v]
                inherited.insert(v)   // its memory is now node i's: not released when v dies here
            } else if let slot = free.firstIndex(where: { $0.size >= size }) {
                offsets[i] = free[slot].offset
                if free[slot].size == size { free.remove(at: slot) } else {
                    free[slot].offset += size
                    free[slot].size -= size
                }
            } else {
                offsets[i] = top
                top += size
            }
            // Free what dies at this node only after the node ran (inputs must stay intact while it writes).
            let dieAt = max(lastUse[i], i)
            expiring[min(dieAt, n)].append(i)
            for dead in expiring[i] where !inherited.contains(dead) {
                guard let off = offsets[dead] else { continue }
                let sz = Self.align(graph.nodes[dead].dtype.byteCount(elements: graph.nodes[dead].shape.elementCount) ?? 0)
                Self.release(&free, offset: off, size: sz)
            }
        }
        self.offsets = offsets
        self.arenaBytes = top
        self.unsharedBytes = unshared
        self.weightKeys = keys
        var release: [Int: [String]] = [:]
        for (i, node) in graph.nodes.enumerated() {
            if case let .weight(key) = node.op, lastUse[i] >= 0, lastUse[i] < n { release[lastUse[i], default: []].append(key) }
        }
        self.releaseAfter = release
    }

    static func align(_ n: Int) -> Int { (n + 63) & ~63 }

    static func release(_ free: inout [(offset: Int, size: Int)], offset: Int, size: Int) {
        guard size > 0 else { return }
        var idx = free.firstIndex(where: { $0.offset > offset }) ?? free.count
        free.insert((offset, size), at: idx)
        if idx + 1 < free.count, free[idx].offset + free[idx].size == free[idx + 1].offset {
            free[idx].size += free[idx + 1].size
            free.remove(at: idx + 1)
        }
        if idx > 0, free[idx - 1].offset + free[idx - 1].size == free[idx].offset {
            free[idx - 1].size += free[idx].size
            free.remove(at: idx)
            idx -= 1
        }
    }
}
