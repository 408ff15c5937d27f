import Foundation
import OmniCore

/// Runs graphs on one GPU: the same `ExecutionPlan` as the CPU (one arena on the device), every node dispatched
/// through the CUDA kernel table. Weights are uploaded once per (weight provider, key) and stay resident (accounted as
/// weights); inputs are uploaded per run; outputs and kept names come back as host tensors. KV caches live on the GPU
/// (`KVCache(…, device: executor.device)`). Not reentrant: one run at a time.
public final class CUDAExecutor: GraphExecutor, Backend, @unchecked Sendable {
    public let registry: PluginRegistry
    /// The GPU.
    public let cuda: CUDADevice
    public var device: any Device { cuda }
    /// The CPU side: weights are read into host memory there before they are uploaded.
    public let hostDevice: any Device
    /// GEMM precision: f32 (parity) or bf16 (speed).
    public let precision: ComputePrecision
    let context: CUDAContext
    let module: CUDAModule
    let blas: CUDABlas
    let kernels = CUDAKernelTable.standard
    private var arena: Storage?
    private var plans: [PlanKey: ExecutionPlan] = [:]
    private var bucketKeys: [String: PlanKey] = [:]
    private var resident = ResidentWeights()
    private var constants: [[Int32]: Storage] = [:]
    private var ropeTables: [RopeKey: (inv: Tensor, rowOf: Tensor)] = [:]
    private var sourceModules: [String: CUDAModule] = [:]
    private var gemmScratch: Storage?
    private var attentionScratch: Storage?
    /// Host copies of the run's inputs by node index (for checks such as embedding ids).
    private var hostInputs: [Int: Tensor] = [:]
    /// Device buffers that live for one run (inputs, attention ranges).
    private var runBuffers: [Storage] = []
    private let placeholder: Tensor

    /// An executor on GPU `ordinal`, with an optional byte budget for it.
    public init(ordinal: Int, registry: PluginRegistry, precision: ComputePrecision = .f32, budget: Int? = nil,
                host: any Device) throws {
        let ctx = try CUDAContext(ordinal: ordinal)
        self.context = ctx
        self.registry = registry
        self.precision = precision
        self.hostDevice = host
        let dev = CUDADevice(context: ctx, budget: budget)
        self.cuda = dev
        self.module = try CUDAModule(context: ctx)
        self.blas = try CUDABlas(context: ctx, device: dev)
        self.placeholder = Tensor(storage: Storage(device: dev.id, address: 0, byteCount: 0, onFree: nil), shape: [0], dtype: .f32)
    }

    /// Plans `graph` (shared planner).
    public func plan(_ graph: Graph, keep: Set<String> = []) -> ExecutionPlan { ExecutionPlan(graph: graph, keep: keep) }

    public func supports(_ op: Op, dtypes: [DType]) -> Bool { kernels.supports(op, dtypes: dtypes) }

    /// A contiguous host copy of a tensor on this GPU.
    public func read(_ tensor: Tensor) throws -> Tensor {
        guard tensor.device == cuda.id else {
            throw OmniError.invalidArgument(name: "tensor", expected: "a tensor on \(cuda.id)", actual: "one on \(tensor.device)")
        }
        try context.makeCurrent()
        try context.synchronize()
        return try download(tensor)
    }

    /// Memory use of the GPU.
    public func memoryReport() -> MemoryReport { cuda.memory.report() }

    public func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache?, keep: Set<String>) throws -> GraphResult {
        try run(cachedPlan(graph, bucket: bucket, keep: keep), inputs: inputs, weights: weights, cache: cache, keep: keep)
    }

    /// The plan for `graph` under `bucket` (cached as the CPU executor caches it).
    public func cachedPlan(_ graph: Graph, bucket: String?, keep: Set<String>) -> ExecutionPlan {
        guard let b = bucket else { return ExecutionPlan(graph: graph, keep: keep) }
        let key = PlanKey(graph: graph, keep: keep)
        if let p = plans[key] { return p }
        if let old = bucketKeys[b] { plans[old] = nil }
        let plan = ExecutionPlan(graph: graph, keep: keep)
        plans[key] = plan
        bucketKeys[b] = key
        return plan
    }

    /// Runs `plan` on the GPU. A failed run is undone in the cache, as on the CPU.
    public func run(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider, cache: KVCache? = nil,
                    keep: Set<String> = []) throws -> GraphResult {
        let g = plan.graph
        try context.makeCurrent()
        if let cache, cache.device != cuda.id {
            throw OmniError.invalidArgument(name: "cache", expected: "a KV cache on \(cuda.id)", actual: "one on \(cache.device)")
        }
        try ensureArena(plan.arenaBytes)
        hostInputs = [:]
        defer { hostInputs = [:]; runBuffers = [] }
        let narrow = precision == .bf16 ? Self.gemmWeights(g) : []
        var bound = [Tensor?](repeating: nil, count: g.nodes.count)
        var log: [String] = []
        let committed = cache?.length
        var completed = false
        defer { if let cache, let committed, !completed { cache.truncate(to: committed) } }
        for (i, node) in g.nodes.enumerated() {
            let out = plan.offsets[i].map { Tensor(storage: arena!, byteOffset: $0, shape: node.shape, dtype: node.dtype) } ?? placeholder
            switch node.op {
            case let .input(name):
                guard let t = inputs[name] else {
                    throw OmniError.invalidArgument(name: name, expected: "input \(node.shape) \(node.dtype)", actual: "missing")
                }
                guard t.shape.elementCount == node.shape.elementCount, t.dtype == node.dtype else {
                    throw OmniError.invalidArgument(name: name, expected: "\(node.shape) \(node.dtype)", actual: "\(t.shape) \(t.dtype)")
                }
                if t.device == cuda.id {
                    bound[i] = Tensor(storage: t.storage, byteOffset: t.byteOffset, shape: node.shape, dtype: t.dtype)
                } else {
                    let host = t.contiguous()
                    hostInputs[i] = host
                    bound[i] = try upload(host, shape: node.shape, kind: .activations, keepForRun: true)
                }
                continue
            case let .weight(key):
                let target: DType = narrow.contains(i) ? .bf16 : .f32
                bound[i] = try residentWeight(key, shape: node.shape, dtype: target, from: weights)
                continue
            default:
                break
            }
            guard let entry = kernels.entries[node.op.kind] else {
                throw OmniError.unsupported(what: "\(node.op.kind) (\(node.name)) on \(cuda.id)", reasons: ["no kernel in its table"])
            }
            let args = node.op.inputs.map { bound[$0.index]! }
            let declared = node.op.inputs.map { g[$0].dtype }
            if let bad = declared.first(where: { !entry.dtypes.contains($0) }) {
                throw OmniError.unsupported(what: "\(node.op.kind) (\(node.name)) on \(cuda.id)",
                                            reasons: ["input dtype \(bad) (the CUDA kernel takes \(entry.dtypes.map(\.rawValue).sorted()))"])
            }
            var call = CUDAKernelCall(node: node, index: i, graph: g, inputs: args, out: out, executor: self, cache: cache)
            try entry.kernel(&call)
            if let e = call.log { log.append(e) }
            bound[i] = call.view ?? out
        }
        var result: [String: Tensor] = [:]
        for v in g.outputs { result[g[v].name] = try download(bound[v.index]!) }
        for name in keep { if let v = g.value(named: name), let t = bound[v.index] { result[name] = try download(t) } }
        try context.synchronize()
        completed = true
        return GraphResult(values: result, attentionLog: log)
    }

    // MARK: services for kernels

    /// The host copy of input node `value`, when it is a run input.
    func hostInput(of value: ValueID) -> Tensor? { hostInputs[value.index] }

    func requireCache(_ cache: KVCache?, _ name: String) throws -> KVCache {
        guard let cache else { throw OmniError.invalidArgument(name: "cache", expected: "a KV cache for \(name)", actual: "none") }
        return cache
    }

    /// The module of a fused op's CUDA source (compiled once per source, with common.cu's helpers before it).
    func sourceModule(_ text: String) throws -> CUDAModule {
        if let m = sourceModules[text] { return m }
        let common = CUDAKernelSource.files.first { $0.name == "common.cu" }?.text ?? ""
        let m = try CUDAModule(context: context, source: common + "\n" + text)
        sourceModules[text] = m
        return m
    }

    /// int32 values on the device, uploaded once per distinct array (gather indices).
    func constant(_ values: [Int32]) throws -> Tensor {
        if let s = constants[values] { return Tensor(storage: s, shape: [values.count], dtype: .i32) }
        let s = try cuda.allocate(max(values.count * 4, 4), kind: .scratch)
        try values.withUnsafeBytes { try context.upload($0.baseAddress!, bytes: $0.count, to: s.deviceAddress) }
        constants[values] = s
        return Tensor(storage: s, shape: [values.count], dtype: .i32)
    }

    /// Per-pair frequencies (f32, computed as the CPU does) and position rows of a RoPE variant, on the device.
    func ropeTable(headDim: Int, theta: Float, kind: RopeKind) throws -> (inv: Tensor, rowOf: Tensor) {
        let key = RopeKey(headDim: headDim, theta: theta, kind: kind)
        if let t = ropeTables[key] { return t }
        let half = headDim / 2
        var rowOf = [Int32](repeating: 0, count: half), inv = [Float](repeating: 0, count: half)
        switch kind {
        case .standard, .interleaved: break
        case let .multimodal(sections):
            var j = 0
            for (r, s) in sections.enumerated() { for _ in 0..<s where j < half { rowOf[j] = Int32(r); j += 1 } }
        case .axial2D:
            for j in 0..<half { rowOf[j] = j < half / 2 ? 0 : 1 }
        }
        if case .axial2D = kind {
            for j in 0..<half { inv[j] = 1 / Foundation.pow(theta, Float(2 * (j % max(half / 2, 1))) / Float(half)) }
        } else {
            for j in 0..<half { inv[j] = 1 / Foundation.pow(theta, Float(2 * j) / Float(headDim)) }
        }
        let invT = try upload(Tensor(inv, shape: [half]), shape: [half], kind: .scratch, keepForRun: false)
        let rows = try constant(rowOf)
        ropeTables[key] = (invT, rows)
        return (invT, rows)
    }

    /// y = x · Wᵀ through cuBLASLt: f32 × f32, or bf16 × bf16 with x rounded to bf16 in GEMM scratch.
    func gemm(x: Tensor, weight: Tensor, out: Tensor, rows: Int, inF: Int, outF: Int) throws {
        switch weight.dtype {
        case .f32:
            try blas.matmul(x: x.address, w: weight.address, y: out.address, rows: rows, inF: inF, outF: outF, type: 0)
        case .bf16:
            let n = rows * inF
            let s = try scratch(&gemmScratch, n * 2)
            try module.launch("omni_cast_f32_bf16", grid: CUDAModule.blocks(n), block: 256, [.ptr(x.address), .ptr(s.deviceAddress), .long(n)])
            try blas.matmul(x: s.deviceAddress, w: weight.address, y: out.address, rows: rows, inF: inF, outF: outF, type: 14)
        default:
            throw OmniError.unsupported(what: "linear weight \(weight.dtype) on \(cuda.id)", reasons: ["weights are uploaded as f32 or bf16"])
        }
    }

    /// Runs one attention call through the first implementation of `spec.backendChain` the GPU has (then eager, the
    /// oracle); returns the fallback log line, if any.
    func attention(q: Tensor, k: Tensor, v: Tensor, kStride: Int, vStride: Int, mask: AttentionMask, spec: AttentionSpec,
                   out: Tensor, name: String) throws -> String? {
        let shape = AttentionShape(queryLength: q.shape[0], keyLength: k.shape[0], heads: spec.heads, kvHeads: spec.kvHeads,
                                   headDim: spec.headDim)
        guard spec.kvHeads > 0, spec.heads % spec.kvHeads == 0 else {
            throw OmniError.invalidArgument(name: name, expected: "heads a multiple of kvHeads", actual: "\(spec.heads)/\(spec.kvHeads)")
        }
        var names = spec.backendChain
        if !names.contains("eager") { names.append("eager") }
        var log: [String] = []
        for (i, n) in names.enumerated() {
            let next = names.dropFirst(i + 1).first ?? "none"
            guard let kernel = CUDAAttentionKernels.all.first(where: { $0.name == n }) else {
                log.append("\(n) → \(next): no CUDA kernel"); continue
            }
            if let why = kernel.unsupportedReason(shape, mask) { log.append("\(n) → \(next): \(why)"); continue }
            var ranges: [Int32] = []
            ranges.reserveCapacity(2 * shape.queryLength)
            for qi in 0..<shape.queryLength {
                let r = mask.keyRange(query: qi, keyLength: shape.keyLength)
                ranges.append(Int32(r.lowerBound)); ranges.append(Int32(r.upperBound))
            }
            let rangesT = try uploadForRun(ranges)
            let s = try scratch(&attentionScratch, kernel.scratchBytes(shape))
            try kernel.run(CUDAAttentionCall(shape: shape, mask: mask, q: q, k: k, v: v, out: out, qStride: q.shape[1],
                                             kStride: kStride, vStride: vStride, outStride: out.shape[1], explicit: mask.explicit,
                                             ranges: rangesT, scratch: Tensor(storage: s, shape: [s.byteCount], dtype: .u8), module: module,
                                             precision: precision))
            return log.isEmpty ? nil : "\(name): " + log.joined(separator: "; ")
        }
        throw OmniError.unsupported(what: "attention (\(shape)) on \(cuda.id)", reasons: log)
    }

    // MARK: memory

    private func ensureArena(_ bytes: Int) throws {
        if let a = arena, a.byteCount >= bytes { return }
        if arena != nil { try context.synchronize() }
        arena = nil
        arena = try cuda.allocate(max(bytes, 256), kind: .activations)
    }

    /// A grow-only scratch buffer of at least `bytes` (accounted as scratch).
    private func scratch(_ slot: inout Storage?, _ bytes: Int) throws -> Storage {
        if let s = slot, s.byteCount >= bytes { return s }
        if slot != nil { try context.synchronize() }
        slot = nil
        let s = try cuda.allocate(max(bytes, 256), kind: .scratch)
        slot = s
        return s
    }

    private func uploadForRun(_ values: [Int32]) throws -> Tensor {
        let s = try cuda.allocate(max(values.count * 4, 4), kind: .scratch)
        try values.withUnsafeBytes { try context.upload($0.baseAddress!, bytes: $0.count, to: s.deviceAddress) }
        runBuffers.append(s)
        return Tensor(storage: s, shape: [values.count], dtype: .i32)
    }

    /// A device copy of contiguous host tensor `t`.
    private func upload(_ t: Tensor, shape: Shape, kind: MemoryKind, keepForRun: Bool) throws -> Tensor {
        let s = try cuda.allocate(t.byteCount, kind: kind)
        if t.byteCount > 0 { try context.upload(t.rawPointer, bytes: t.byteCount, to: s.deviceAddress) }
        withExtendedLifetime(t) {}
        if keepForRun { runBuffers.append(s) }
        return Tensor(storage: s, shape: shape, dtype: t.dtype)
    }

    /// A host copy of a device tensor (the stream is synchronized by the copy).
    private func download(_ t: Tensor) throws -> Tensor {
        let host = Tensor(zeros: t.shape, dtype: t.dtype)
        if t.byteCount > 0 { try context.download(t.address, bytes: t.byteCount, to: host.mutableRawPointer) }
        return host
    }

    /// Weight `key` on the device in `dtype` (f32, or bf16 for GEMM weights in the speed mode), uploaded once per
    /// weight provider and kept.
    private func residentWeight(_ key: String, shape: Shape, dtype: DType, from weights: any WeightProvider) throws -> Tensor {
        if let t = resident.lookup(provider: weights, key: key, dtype: dtype) { return t }
        let host = try weights.tensor(key)
        guard host.shape == shape else { throw OmniError.shapeMismatch(key: key, expected: shape, actual: host.shape) }
        let converted = try convert(host.contiguous(), to: dtype, key: key)
        let t = try upload(converted, shape: shape, kind: .weights, keepForRun: false)
        weights.release([key])
        resident.store(t, provider: weights, key: key, dtype: dtype)
        return t
    }

    private func convert(_ t: Tensor, to dtype: DType, key: String) throws -> Tensor {
        if t.dtype == dtype { return t }
        if t.dtype == .i64 { return t }
        let out = Tensor(zeros: t.shape, dtype: dtype)
        if let conv = try? registry.converter(from: t.dtype, to: dtype) {
            try conv.convert(t.rawPointer, from: t.dtype, to: out.mutableRawPointer, dtype, count: t.elementCount)
        } else {
            // Through f32 (Q8_0 → f32 → bf16).
            let mid = Tensor(zeros: t.shape, dtype: .f32)
            try registry.converter(from: t.dtype, to: .f32).convert(t.rawPointer, from: t.dtype, to: mid.mutableRawPointer, .f32, count: t.elementCount)
            try registry.converter(from: .f32, to: dtype).convert(mid.rawPointer, from: .f32, to: out.mutableRawPointer, dtype, count: t.elementCount)
        }
        withExtendedLifetime(t) {}
        return out
    }

    /// Weight nodes read only as GEMM weights or embedding tables (kept bf16 in the speed mode).
    static func gemmWeights(_ g: Graph) -> Set<Int> {
        var ok = Set<Int>(), bad = Set<Int>()
        for node in g.nodes {
            switch node.op {
            case let .linear(_, w, b):
                ok.insert(w.index)
                if let b { bad.insert(b.index) }
                bad.insert(node.op.inputs[0].index)
            case let .embedding(table, _):
                ok.insert(table.index)
            default:
                for v in node.op.inputs { bad.insert(v.index) }
            }
        }
        return Set(ok.subtracting(bad).filter { g.nodes[$0].op.isWeight && g.nodes[$0].shape.rank == 2 })
    }
}

/// A plan cache key: the graph and the kept names.
struct PlanKey: Hashable {
    let graph: Graph
    let keep: Set<String>
}

struct RopeKey: Hashable {
    let headDim: Int
    let theta: Float
    let kind: RopeKind
}

/// Weights on the device per provider (by identity, with a weak reference so a new provider at a freed address is not
/// mistaken for the old one), by key and dtype.
struct ResidentWeights {
    private struct Entry {
        weak var provider: AnyObject?
        var tensors: [String: Tensor]
    }
    private var entries: [ObjectIdentifier: Entry] = [:]

    func lookup(provider owner: any WeightProvider, key: String, dtype: DType) -> Tensor? {
        let object = owner as AnyObject
        guard let e = entries[ObjectIdentifier(object)], e.provider === object else { return nil }
        return e.tensors["\(dtype.rawValue):\(key)"]
    }

    mutating func store(_ t: Tensor, provider owner: any WeightProvider, key: String, dtype: DType) {
        let object = owner as AnyObject
        let id = ObjectIdentifier(object)
        if entries[id]?.provider !== object {
            entries = entries.filter { $0.value.provider != nil && $0.key != id }
            entries[id] = Entry(provider: object, tensors: [:])
        }
        entries[id]?.tensors["\(dtype.rawValue):\(key)"] = t
    }
}
