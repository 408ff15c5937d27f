import OmniCore

// How a CUDA kernel is added (one op kind, or a faster kernel for an existing one):
// 1. Source: write it as `extern "C" __global__` CUDA C in Plugins/DeviceCUDA/kernels/<family>.cu. No #include
//    (NVRTC built-ins only; bf16 through omni_bf16_to_f32 / omni_f32_to_bf16 in common.cu; tensor cores, if any,
//    through inline PTX), so nothing but the driver and NVRTC is needed at run time.
// 2. Embedding: nothing to do. The EmbedCUDAKernels build-tool plugin (BuildTools/) runs
//    scripts/embed_cuda_kernels.sh at build time and generates `CUDAKernelSource` from every kernels/*.cu. NVRTC
//    compiles all files as one program per architecture, cached on disk.
// 3. Launch: in a small Swift file per family (CUDAKernels+<Family>.swift), call
//    `c.module.launch("omni_name", grid:, block:, [.ptr(x.address), .int(n), …])` with arguments in the kernel's
//    parameter order and C types (`.int` → int, `.long` → long long, `.f32` → float, `.ptr` → any pointer).
//    Tensors on the device carry their address (`tensor.address`); inputs are contiguous.
// 4. Registration: `t.register(.kind, dtypes: …) { c in … }` in that family's `register(into:)`, called from
//    `CUDAKernelTable.standard`. `supports(op, dtypes)` answers from the table. An attention implementation is
//    an entry of `CUDAAttentionKernels` (by attention backend name) instead.

/// What a CUDA kernel gets for one node: the node, its inputs in `op.inputs` order (device tensors, contiguous; weights
/// in f32, or bf16 where the executor keeps GEMM weights in bf16), its output buffer in the arena, and the executor.
struct CUDAKernelCall {
    let node: Node
    let index: Int
    let graph: Graph
    /// The node's inputs, in `node.op.inputs` order, on the device.
    let inputs: [Tensor]
    /// The node's result buffer in the arena ([0] for nodes that own no arena bytes).
    let out: Tensor
    unowned let executor: CUDAExecutor
    let cache: KVCache?
    /// Set by a kernel whose result is a view of an input rather than `out` (a reshaped weight).
    var view: Tensor?
    /// A line for the run's attention log (backend fallbacks).
    var log: String?

    var module: CUDAModule { executor.module }
    /// A linear's bias (its third input), if any.
    var bias: Tensor? { node.op.kind == .linear && inputs.count > 2 ? inputs[2] : nil }

    /// The op did not match the kernel it was registered under (a table bug).
    func mismatch() -> Error {
        OmniError.unsupported(what: "\(node.op.kind) CUDA kernel for \(node.name)", reasons: ["registered under the wrong op"])
    }
}

/// The GPU's kernels by op kind, with the input dtypes each accepts (as the graph declares them; weights are
/// converted at upload). Same shape as the CPU's table.
struct CUDAKernelTable {
    typealias Kernel = (inout CUDAKernelCall) throws -> Void
    struct Entry {
        let dtypes: Set<DType>
        let kernel: Kernel
    }
    private(set) var entries: [OpKind: Entry] = [:]

    mutating func register(_ kind: OpKind, dtypes: Set<DType>, _ kernel: @escaping Kernel) {
        precondition(entries[kind] == nil, "two CUDA kernels for \(kind)")
        entries[kind] = Entry(dtypes: dtypes, kernel: kernel)
    }

    /// Whether `op` runs here with inputs of `dtypes`; a fused op also needs a CUDA kernel of its own.
    func supports(_ op: Op, dtypes: [DType]) -> Bool {
        guard let e = entries[op.kind], dtypes.allSatisfy(e.dtypes.contains) else { return false }
        if case let .fused(f, _) = op { return f.op.kernel(for: "cuda") != nil }
        return true
    }

    /// Weight dtypes accepted (converted at upload) and activations (f32).
    static let floats: Set<DType> = [.f32, .f16, .bf16, .q8_0, .q4_0]

    /// Every CUDA kernel.
    static let standard: CUDAKernelTable = {
        var t = CUDAKernelTable()
        let fi = floats.union([.i64])
        t.register(.input, dtypes: fi) { _ in }
        t.register(.weight, dtypes: fi) { _ in }
        CUDAKernels.registerElementwise(into: &t)
        CUDAKernels.registerNorms(into: &t)
        CUDAKernels.registerLinear(into: &t)
        CUDAKernels.registerLayout(into: &t)
        CUDAKernels.registerAttention(into: &t)
        CUDAKernels.registerConvolution(into: &t)
        return t
    }()
}

/// Launch helpers of the kernel families (one file each).
enum CUDAKernels {}
