import OmniCore

/// What a CPU kernel gets for one node: the node, its inputs in `op.inputs` order (host memory), its output
/// buffer in the arena, and the executor's services (threads, weight conversion, the KV cache, attention).
struct CPUKernelCall {
    let node: Node
    let graph: Graph
    /// The node's inputs, in `node.op.inputs` order.
    let inputs: [Tensor]
    /// The node's result buffer ([0] for nodes that own no arena bytes).
    let out: Tensor
    unowned let executor: Executor
    let cache: KVCache?
    /// Set by a kernel whose result is a view of an input rather than `out` (a reshaped weight).
    var view: Tensor?
    /// A line for the run's attention log (backend fallbacks).
    var log: String?

    /// Input `i` as contiguous f32: a weight in another dtype is converted once per model and cached.
    func f32(_ i: Int) throws -> Tensor {
        try executor.f32(inputs[i], key: graph[node.op.inputs[i]].name)
    }

    /// The op did not match the kernel it was registered under (a table bug).
    func mismatch() -> Error {
        OmniError.unsupported(what: "\(node.op.kind) kernel for \(node.name)", reasons: ["registered under the wrong op"])
    }
}

/// One backend's kernels, by op kind, with the input dtypes each accepts. `supports(op, dtypes)` answers from it,
/// and the executor dispatches through it: adding an op is one `Op` case (OmniCore) plus one entry per backend.
struct CPUKernelTable {
    typealias Kernel = (inout CPUKernelCall) throws -> Void
    struct Entry {
        let dtypes: Set<DType>
        let kernel: Kernel
    }
    private(set) var entries: [OpKind: Entry] = [:]

    /// Registers `kernel` for `kind`, accepting inputs of `dtypes`.
    mutating func register(_ kind: OpKind, dtypes: Set<DType>, _ kernel: @escaping Kernel) {
        precondition(entries[kind] == nil, "two CPU kernels for \(kind)")
        entries[kind] = Entry(dtypes: dtypes, kernel: kernel)
    }

    /// Whether `op` runs here with inputs of `dtypes`; a fused op also needs a CPU kernel of its own.
    func supports(_ op: Op, dtypes: [DType]) -> Bool {
        guard let e = entries[op.kind], dtypes.allSatisfy(e.dtypes.contains) else { return false }
        if case let .fused(f, _) = op { return f.op.kernel(for: DeviceID.cpu.kind) != nil }
        return true
    }
}
