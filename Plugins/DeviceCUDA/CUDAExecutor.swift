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
    /// Step-mode state of decode plans (CUDAStepGraph.swift), and the plans that cannot run in step mode.
    private var steps: [PlanKey: CUDAStepState] = [:]
    private var plainPlans: [PlanKey: String] = [:]
    /// The running step, while a decode plan runs in step mode (the cache kernels read its lengths).
    private(set) var step: CUDAStepState?
    private var resident = ResidentWeights()
    private var constants: [[Int32]: Storage] = [:]
    private var ropeTables: [RopeKey: (inv: Tensor, rowOf: Tensor)] = [:]
    private var sourceModules: [String: CUDAModule] = [:]
    private var gemmScratch: Storage?
    /// Time marks of the step in progress (OMNI_CUDA_STEP_TIMES=1 only; CUDAStepState.noteTimes).
    private var marks: [(String, UInt64)] = []
    private func mark(_ name: String) { if CUDAStepState.stepTimes { marks.append((name, DispatchTime.now().uptimeNanoseconds)) } }
    /// A Q8_0 weight widened to bf16 for a GEMM (more than 8 rows), one weight at a time.
    private var widenScratch: Storage?
    /// Activations quantized to int8 for the dp4a Q8_0 GEMV.
    private var quantScratch: Storage?
    private var attentionScratch: Storage?
    /// A bf16 KV cache's rows widened to f32 for an attention kernel that reads f32 (eager, other head dims).
    private var kvWidenScratch: Storage?
    /// The split-K decode kernel's counters (`decodeCounters()`); not freed by `releaseBuffers`.
    private var decodeCounterBuffer: Storage?
    /// Host copies of the run's inputs by node index (for checks such as embedding ids).
    private var hostInputs: [Int: Tensor] = [:]
    /// Device buffers that live for one run (inputs, attention ranges).
    private var runBuffers: [Storage] = []
    /// Attention key ranges uploaded in this run, by mask and shape: the layers of one graph share them (a vision
    /// tower's 32 blocks have two masks, a prefill chunk's layers one), and every upload waits for the stream.
    private var runRanges: [RangesKey: Tensor] = [:]
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
    public func plan(_ graph: Graph, keep: Set<String> = []) -> ExecutionPlan { Self.makePlan(graph, keep: keep) }

    /// The shared planner's plan, with each fused group's inputs held until the group's last node (CUDAFusion), and
    /// SwiGLU written over its gate or up when that dies with it (`omni_swiglu_f32` reads and writes each element in
    /// one thread; at 8192 tokens of the 7B thinker that is 620 MB less peak). OMNI_CUDA_INPLACE=0 plans without it.
    static func makePlan(_ graph: Graph, keep: Set<String>) -> ExecutionPlan {
        let inPlace = inPlaceEnabled ? Set(graph.nodes.indices.filter { i in
            if case .swiglu = graph.nodes[i].op { return true }
            return false
        }) : []
        return ExecutionPlan(graph: graph, keep: keep, holdUntil: CUDAFusion.enabled ? CUDAFusion.holdUntil(graph) : [:],
                             inPlace: inPlace)
    }

    static let inPlaceEnabled = ProcessInfo.processInfo.environment["OMNI_CUDA_INPLACE"] != "0"

    public func supports(_ op: Op, dtypes: [DType]) -> Bool { kernels.supports(op, dtypes: dtypes) }

    /// A contiguous host copy of a tensor on this GPU.
    public func read(_ tensor: Tensor) throws -> Tensor {
        guard tensor.device == cuda.id else {
            throw OmniError.invalidArgument(name: "tensor", expected: "a tensor on \(cuda.id)", actual: "one on \(tensor.device)")
        }
        try context.makeCurrent()
        return try download([tensor])[0]
    }

    /// Memory use of the GPU.
    public func memoryReport() -> MemoryReport { cuda.memory.report() }

    public func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache?, keep: Set<String>) throws -> GraphResult {
        marks = []
        mark("entered")
        let plan = cachedPlan(graph, bucket: bucket, keep: keep)
        var state: CUDAStepState?
        if bucket != nil, let cache, CUDAStepState.stepModeEnabled {
            let key = PlanKey(graph: graph, keep: keep)
            if let s = steps.value(adoptingKey: key, isSame: PlanKey.same), s.slots >= cache.slots {
                state = s
            } else if plainPlans.value(adoptingKey: key, isSame: PlanKey.same) == nil {
                if let why = CUDAStepState.ineligible(graph) {
                    if CUDAStepState.trace { CUDAStepState.say("cuda: plan \(bucket ?? "") runs kernel by kernel: \(why)") }
                    plainPlans[key] = why
                } else {
                    try context.makeCurrent()
                    state = try CUDAStepState(graph: graph, slots: cache.slots, context: context, device: cuda)
                    steps[key] = state
                }
            }
        }
        mark("plan lookups")
        return try run(plan, inputs: inputs, weights: weights, cache: cache, keep: keep, step: state)
    }

    /// How the step-mode plans ran: graphs captured and replayed, or why graphs are off (for benchmarks and tests).
    public var stepGraphReport: String {
        if steps.isEmpty { return "no decode plan ran in step mode" }
        return steps.values.map { s in
            s.graphOff.map { "step mode without graphs (\($0))" } ?? "CUDA graphs: \(s.captures) captured, \(s.replays) replayed"
        }.joined(separator: "; ")
    }

    /// The plan for `graph` under `bucket` (cached as the CPU executor caches it).
    public func cachedPlan(_ graph: Graph, bucket: String?, keep: Set<String>) -> ExecutionPlan {
        guard let b = bucket else { return Self.makePlan(graph, keep: keep) }
        let key = PlanKey(graph: graph, keep: keep)
        if let p = plans.value(adoptingKey: key, isSame: PlanKey.same) { return p }
        if let old = bucketKeys[b] { plans[old] = nil; steps[old] = nil; plainPlans[old] = nil }
        let plan = Self.makePlan(graph, keep: keep)
        plans[key] = plan
        bucketKeys[b] = key
        return plan
    }

    /// Runs `plan` on the GPU. A failed run is undone in the cache, as on the CPU.
    public func run(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider, cache: KVCache? = nil,
                    keep: Set<String> = []) throws -> GraphResult {
        try run(plan, inputs: inputs, weights: weights, cache: cache, keep: keep, step: nil)
    }

    /// Runs `plan`; with `step` (a decode plan and its state) the operations are recorded and then replayed as one
    /// CUDA graph (CUDAStepGraph.swift).
    func run(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider, cache: KVCache?,
             keep: Set<String>, step state: CUDAStepState?) throws -> GraphResult {
        let g = plan.graph
        let runStarted = CUDAProfile.enabled ? DispatchTime.now().uptimeNanoseconds : 0
        try context.makeCurrent()
        if let cache, cache.device != cuda.id {
            throw OmniError.invalidArgument(name: "cache", expected: "a KV cache on \(cuda.id)", actual: "one on \(cache.device)")
        }
        try ensureArena(plan.arenaBytes)
        hostInputs = [:]
        defer { hostInputs = [:]; runBuffers = []; runRanges = [:]; step = nil; context.recorder = nil }
        if let state, let cache {
            try state.begin(cache: cache)
            mark("begin")
            if let sc = state.shortcut(buffers: stepBuffers, cache: cache, weights: weights as AnyObject) {
                mark("shortcut")
                return try replay(sc, state: state, inputs: inputs, cache: cache)
            }
            step = state
            context.recorder = CUDARecorder()
        }
        let narrow = precision == .bf16 ? Self.gemmWeights(g) : []
        let q8 = precision == .bf16 ? Self.linearWeights(g, among: narrow) : []
        var bound = [Tensor?](repeating: nil, count: g.nodes.count)
        var fusion = CUDAFusion(g, keep: keep)
        var profile = CUDAProfile.enabled && step == nil ? CUDAProfile(graph: g, runStarted: runStarted) : nil
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
                if let state {
                    if t.device != cuda.id { hostInputs[i] = t.contiguous() }
                    bound[i] = try state.stage(t, node: i, shape: node.shape)
                } else if t.device == cuda.id {
                    bound[i] = Tensor(storage: t.storage, byteOffset: t.byteOffset, shape: node.shape, dtype: t.dtype)
                } else {
                    let host = t.contiguous()
                    hostInputs[i] = host
                    bound[i] = try upload(host, shape: node.shape, kind: .activations, keepForRun: true)
                }
                continue
            case let .weight(key):
                let target: DType = narrow.contains(i) ? .bf16 : .f32
                bound[i] = try residentWeight(key, shape: node.shape, dtype: target, keepQ8: q8.contains(i), from: weights)
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
            try profile?.begin(context)
            if try fusion.take(call, alone: entry.kernel) {
                try profile?.end(node: i, context)
                bound[i] = out
                continue
            }
            try entry.kernel(&call)
            try profile?.end(node: i, context)
            if let e = call.log { log.append(e) }
            bound[i] = call.view ?? out
        }
        try fusion.flush()
        profile?.walked(context)
        var pairs = g.outputs.map { (name: g[$0].name, tensor: bound[$0.index]!) }
        for name in keep.sorted() { if let v = g.value(named: name), let t = bound[v.index] { pairs.append((name: name, tensor: t)) } }
        if let state, let cache, let recorder = context.recorder {
            context.recorder = nil
            try state.finish(recorder.ops, blas: blas)
            state.keepShortcut(buffers: stepBuffers, cache: cache, weights: weights as AnyObject, results: pairs, log: log)
        }
        let result = try downloadAll(pairs)
        profile?.report()
        completed = true
        return GraphResult(values: result, attentionLog: log)
    }

    /// The buffers a recorded step points into besides weights, caches and per-plan buffers: if one moved, the step
    /// is walked again.
    private var stepBuffers: [UInt64] {
        [arena?.deviceAddress ?? 0, gemmScratch?.deviceAddress ?? 0, attentionScratch?.deviceAddress ?? 0,
         widenScratch?.deviceAddress ?? 0, quantScratch?.deviceAddress ?? 0, kvWidenScratch?.deviceAddress ?? 0]
    }

    /// A decode step whose operations equal the last step's: inputs staged, the cache's host lengths advanced as the
    /// walk did, the graph replayed, results read back. No node is walked.
    private func replay(_ sc: CUDAStepShortcut, state: CUDAStepState, inputs: [String: Tensor], cache: KVCache) throws -> GraphResult {
        for n in state.inputNodes {
            guard let t = inputs[n.name] else {
                throw OmniError.invalidArgument(name: n.name, expected: "input \(n.shape) \(n.dtype)", actual: "missing")
            }
            guard t.shape.elementCount == n.shape.elementCount, t.dtype == n.dtype else {
                throw OmniError.invalidArgument(name: n.name, expected: "\(n.shape) \(n.dtype)", actual: "\(t.shape) \(t.dtype)")
            }
            if let vocab = n.vocab, t.device != cuda.id,
               let bad = try t.contiguous().int64s().first(where: { $0 < 0 || $0 >= Int64(vocab) }) {
                throw OmniError.invalidArgument(name: "\(n.name) ids", expected: "0..<\(vocab)", actual: "\(bad)")
            }
            _ = try state.stage(t, node: n.index, shape: n.shape)
        }
        mark("inputs")
        let committed = cache.length
        var completed = false
        defer { if !completed { cache.truncate(to: committed) } }
        for c in sc.commits {
            try cache.checkAppend(slot: c.slot, rows: c.rows, width: c.width)
            cache.commit(slot: c.slot, count: c.rows)
        }
        mark("commits")
        try state.replay(blas: blas)
        if CUDAStepState.stepTimes {
            try context.synchronize()
            mark("graph")
        }
        let result = try downloadAll(sc.results)
        mark("results")
        if CUDAStepState.stepTimes { state.noteTimes(marks) }
        completed = true
        return GraphResult(values: result, attentionLog: sc.log)
    }

    // MARK: services for kernels

    /// The host copy of input node `value`, when it is a run input.
    func hostInput(of value: ValueID) -> Tensor? { hostInputs[value.index] }

    func requireCache(_ cache: KVCache?, _ name: String) throws -> KVCache {
        guard let cache else { throw OmniError.invalidArgument(name: "cache", expected: "a KV cache for \(name)", actual: "none") }
        guard cache.dtype == .f32 || cache.dtype == .bf16 else {
            throw OmniError.invalidArgument(name: "cache", expected: "an f32 or bf16 KV cache for \(name)", actual: "\(cache.dtype)")
        }
        return cache
    }

    /// bf16 in the bf16 compute mode (`KVCache.elementType`): the cache kernels write rounded rows, flash and split-K
    /// read them as they are, and eager reads them widened to f32. Caches of either type run on either mode.
    public var cacheDType: DType { KVCache.elementType(precision: precision, device: cuda.id) }

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

    /// y = x · Wᵀ (+ bias, f32, added in the GEMM's epilogue) through cuBLASLt: f32 × f32, or bf16 × bf16 with x
    /// rounded to bf16 in GEMM scratch.
    func gemm(x: Tensor, weight: Tensor, out: Tensor, rows: Int, inF: Int, outF: Int, bias: Tensor? = nil) throws {
        let b = bias?.address ?? 0
        switch weight.dtype {
        case .f32:
            try blas.matmul(x: x.address, w: weight.address, y: out.address, rows: rows, inF: inF, outF: outF, type: 0, bias: b)
        case .bf16:
            let n = rows * inF
            let s = try scratch(&gemmScratch, n * 2)
            try module.launch("omni_cast_f32_bf16", grid: CUDAModule.blocks(n), block: 256, [.ptr(x.address), .ptr(s.deviceAddress), .long(n)])
            try blas.matmul(x: s.deviceAddress, w: weight.address, y: out.address, rows: rows, inF: inF, outF: outF, type: 14, bias: b)
        case .q8_0:
            // A Q8_0-resident weight (the speed mode): widened to bf16 into one reused buffer, then the bf16 GEMM.
            let w = try scratch(&widenScratch, outF * inF * 2)
            try module.launch("omni_q8_0_to_bf16", grid: CUDAModule.blocks(outF * inF), block: 256, [
                .ptr(weight.address), .ptr(weight.address + UInt64(outF * inF)), .ptr(w.deviceAddress), .long(outF * inF)])
            let n = rows * inF
            let s = try scratch(&gemmScratch, n * 2)
            try module.launch("omni_cast_f32_bf16", grid: CUDAModule.blocks(n), block: 256, [.ptr(x.address), .ptr(s.deviceAddress), .long(n)])
            try blas.matmul(x: s.deviceAddress, w: w.deviceAddress, y: out.address, rows: rows, inF: inF, outF: outF, type: 14, bias: b)
        default:
            throw OmniError.unsupported(what: "linear weight \(weight.dtype) on \(cuda.id)", reasons: ["weights are uploaded as f32, bf16 or Q8_0"])
        }
    }

    /// The GEMM's bf16 activation buffer (what `gemm` rounds x into), for a caller that writes it itself; then
    /// `gemm(bf16Input:…)`.
    func bf16Input(elements n: Int) throws -> UInt64 { try scratch(&gemmScratch, n * 2).deviceAddress }

    /// The same GEMM scratch as f32 elements (an f32 GEMM's unrolled input, e.g. a convolution's columns).
    func f32Input(elements n: Int) throws -> UInt64 { try scratch(&gemmScratch, n * 4).deviceAddress }

    /// y = x · Wᵀ (+ bias in the epilogue) for x already rounded to bf16 at `x` (from `bf16Input`) and a bf16 weight.
    func gemm(bf16Input x: UInt64, weight: Tensor, out: Tensor, rows: Int, inF: Int, outF: Int, bias: Tensor? = nil) throws {
        try gemm(bf16Input: x, weight: weight, outAddress: out.address, bf16Output: false, rows: rows, inF: inF, outF: outF,
                 bias: bias)
    }

    /// The same into `outAddress`, as f32 or (`bf16Output`) bf16 rounded once from the f32 accumulator; a bias only
    /// with f32 output.
    func gemm(bf16Input x: UInt64, weight: Tensor, outAddress y: UInt64, bf16Output: Bool, rows: Int, inF: Int, outF: Int,
              bias: Tensor? = nil) throws {
        precondition(weight.dtype == .bf16, "gemm(bf16Input:) takes a bf16 weight")
        precondition(bias == nil || !bf16Output, "an epilogue bias is f32, for f32 output")
        try blas.matmul(x: x, w: weight.address, y: y, rows: rows, inF: inF, outF: outF, type: 14,
                        outType: bf16Output ? 14 : 0, bias: bias?.address ?? 0)
    }

    /// A scratch buffer of at least `bytes` for quantized activations (grow-only).
    func quantizedActivations(_ bytes: Int) throws -> Storage { try scratch(&quantScratch, bytes + 16) }

    /// Runs one attention call through the first implementation of `spec.backendChain` the GPU has (then eager, the
    /// oracle); returns the fallback log line, if any.
    func attention(q: Tensor, k: Tensor, v: Tensor, kStride: Int, vStride: Int, mask: AttentionMask, spec: AttentionSpec,
                   out: Tensor, name: String, dynamic: CUDADynamicKeys? = nil) throws -> String? {
        let shape = AttentionShape(queryLength: q.shape[0], keyLength: k.shape[0], heads: spec.heads, kvHeads: spec.kvHeads,
                                   headDim: spec.headDim)
        guard spec.kvHeads > 0, spec.heads % spec.kvHeads == 0 else {
            throw OmniError.invalidArgument(name: name, expected: "heads a multiple of kvHeads", actual: "\(spec.heads)/\(spec.kvHeads)")
        }
        let (chosen, log) = CUDAAttentionKernels.choose(spec.backendChain, shape, mask)
        guard let kernel = chosen else { throw OmniError.unsupported(what: "attention (\(shape)) on \(cuda.id)", reasons: log) }
        let rangesT: Tensor
        if let d = dynamic, let state = step {
            // Step mode: the ranges follow the cache length on the device (kernels/step.cu).
            let bytes = 8 * shape.queryLength
            let buf: Storage
            if let b = state.nodeBuffers[d.node], b.byteCount >= bytes { buf = b } else {
                buf = try cuda.allocate(bytes, kind: .scratch)
                state.nodeBuffers[d.node] = buf
            }
            // The split-K decode kernel reads the key count itself; the others take ranges.
            if !(kernel.name == CUDAAttentionKernels.flash2.name && CUDAFlash.usesDecode(shape, mask)) {
                try module.launch("omni_attn_ranges_dyn", grid: 1, block: 32 * ((shape.queryLength + 31) / 32), [
                    .ptr(buf.deviceAddress), .int(shape.queryLength), .ptr(d.lens), .int(d.slot), .int(d.delta),
                    .int(mask.causal ? 1 : 0), .int(mask.window ?? 0)])
            }
            rangesT = Tensor(storage: buf, shape: [2 * shape.queryLength], dtype: .i32)
        } else {
            let key = RangesKey(mask: mask, queryLength: shape.queryLength, keyLength: shape.keyLength)
            if let t = runRanges[key] {
                rangesT = t
            } else {
                var ranges: [Int32] = []
                ranges.reserveCapacity(2 * shape.queryLength)
                for qi in 0..<shape.queryLength {
                    let r = mask.keyRange(query: qi, keyLength: shape.keyLength)
                    ranges.append(Int32(r.lowerBound)); ranges.append(Int32(r.upperBound))
                }
                rangesT = try uploadForRun(ranges)
                runRanges[key] = rangesT
            }
        }
        var k = k, v = v, kStride = kStride, vStride = vStride
        if k.dtype == .bf16 || v.dtype == .bf16, !kernel.readsBF16KV(shape, mask, precision) {
            // A bf16 cache read by a kernel of f32 rows: K and V widened into scratch first.
            (k, v) = try widenKV(k, v, keys: shape.keyLength, kStride: kStride, vStride: vStride)
            kStride = k.shape[1]; vStride = v.shape[1]
        }
        let s = try scratch(&attentionScratch, kernel.scratchBytes(shape, k.dtype == .bf16))
        try kernel.run(CUDAAttentionCall(shape: shape, mask: mask, q: q, k: k, v: v, out: out, qStride: q.shape[1],
                                         kStride: kStride, vStride: vStride, outStride: out.shape[1], explicit: mask.explicit,
                                         ranges: rangesT, scratch: Tensor(storage: s, shape: [s.byteCount], dtype: .u8), module: module,
                                         precision: precision, dynamic: dynamic, decodeCounters: try decodeCounters()))
        return log.isEmpty ? nil : "\(name): " + log.joined(separator: "; ")
    }

    /// The split-K decode kernel's block counters (kernels/decode_attention.cu): 1024 int32, zeroed once and left
    /// zero by every launch; kept for the executor's life (a recorded step points at them). Nil with
    /// OMNI_CUDA_DECODE_COMBINE=0 (a separate combine launch).
    private func decodeCounters() throws -> Storage? {
        guard Self.combineInSplit else { return nil }
        if let c = decodeCounterBuffer { return c }
        let c = try cuda.allocate(4096, kind: .scratch)
        let zeros = [UInt8](repeating: 0, count: 4096)
        try zeros.withUnsafeBytes { try context.upload($0.baseAddress!, bytes: 4096, to: c.deviceAddress) }
        decodeCounterBuffer = c
        return c
    }

    static let combineInSplit = ProcessInfo.processInfo.environment["OMNI_CUDA_DECODE_COMBINE"] != "0"

    /// bf16 K and V rows [keys, width] (width = the row stride) widened to f32 in one scratch buffer.
    private func widenKV(_ k: Tensor, _ v: Tensor, keys: Int, kStride: Int, vStride: Int) throws -> (Tensor, Tensor) {
        guard k.dtype == .bf16, v.dtype == .bf16 else {
            throw OmniError.unsupported(what: "attention over K \(k.dtype) and V \(v.dtype)", reasons: ["K and V share one dtype"])
        }
        let kn = keys * kStride, vn = keys * vStride
        let buf = try scratch(&kvWidenScratch, (kn + vn) * 4)
        let kw = buf.deviceAddress, vw = kw + UInt64(kn * 4)
        if kn > 0 {
            try module.launch("omni_cast_bf16_f32", grid: CUDAModule.blocks(kn), block: 256, [.ptr(k.address), .ptr(kw), .long(kn)])
        }
        if vn > 0 {
            try module.launch("omni_cast_bf16_f32", grid: CUDAModule.blocks(vn), block: 256, [.ptr(v.address), .ptr(vw), .long(vn)])
        }
        return (Tensor(storage: buf, shape: [keys, kStride], dtype: .f32),
                Tensor(storage: buf, byteOffset: kn * 4, shape: [keys, vStride], dtype: .f32))
    }

    // MARK: memory

    /// Frees the arena and the grow-only scratch buffers after the queued work ends; decode plans' step states go
    /// too (their recorded graphs hold those addresses). The next run allocates again.
    public func releaseBuffers() {
        try? context.makeCurrent()
        try? context.synchronize()
        steps = [:]
        arena = nil
        gemmScratch = nil; widenScratch = nil; quantScratch = nil; attentionScratch = nil; kvWidenScratch = nil
    }

    private func ensureArena(_ bytes: Int) throws {
        if let a = arena, a.byteCount >= bytes { return }
        if arena != nil { try context.synchronize() }
        arena = nil
        arena = try cuda.allocate(max(bytes, 256), kind: .activations)
    }

    /// A grow-only scratch buffer of at least `bytes` (accounted as scratch).
    private func scratch(_ slot: inout Storage?, _ bytes: Int) throws -> Storage {
        if let s = slot, s.byteCount >= bytes { return s }
        // The old buffer may be read by launches still queued or recorded: it lives until the run ends.
        if let old = slot { runBuffers.append(old) }
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

    /// Host copies of device tensors, read back with one wait (`CUDAContext.download(_:)`).
    private func download(_ tensors: [Tensor]) throws -> [Tensor] {
        let hosts = tensors.map { Tensor(storage: Storage(uninitializedByteCount: max($0.byteCount, 1)), shape: $0.shape, dtype: $0.dtype) }
        let regions = zip(tensors, hosts).map { (address: $0.address, bytes: $0.byteCount, host: $1.mutableRawPointer) }
        try withExtendedLifetime(hosts) { try context.download(regions) }
        return hosts
    }

    /// A run's results by name, read back with one wait; a name given twice gets the last tensor, as a dictionary
    /// built in order would.
    private func downloadAll(_ pairs: [(name: String, tensor: Tensor)]) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (p, host) in zip(pairs, try download(pairs.map(\.tensor))) { result[p.name] = host }
        return result
    }

    /// Weight `key` on the device in `dtype` (f32, or bf16 for GEMM weights in the speed mode), uploaded once per
    /// weight provider and kept. With `keepQ8`, a Q8_0 weight stays Q8_0 (1.06 bytes a weight), repacked for the GEMV
    /// (kernels/gemv.cu: int8 quants [N, K] then f16 scales [N, K / 32] in one buffer).
    private func residentWeight(_ key: String, shape: Shape, dtype: DType, keepQ8: Bool = false,
                                from weights: any WeightProvider) throws -> Tensor {
        if keepQ8, let t = resident.lookup(provider: weights, key: key, dtype: .q8_0) { return t }
        if let t = resident.lookup(provider: weights, key: key, dtype: dtype) { return t }
        let host = try weights.tensor(key)
        guard host.shape == shape else { throw OmniError.shapeMismatch(key: key, expected: shape, actual: host.shape) }
        guard host.layout == .standard else {
            // A CPU executor on the same weights asked for its own layout; the uploads read the stored one.
            throw OmniError.unsupported(what: "weight \(key) in layout \(host.layout) on \(cuda.id)",
                                        reasons: ["load the model once per device"])
        }
        if keepQ8, host.dtype == .q8_0, shape.rank == 2, shape[1] % 32 == 0 {
            let t = try uploadQ8(host.contiguous(), shape: shape)
            weights.release([key])
            resident.store(t, provider: weights, key: key, dtype: .q8_0)
            return t
        }
        let converted = try convert(host.contiguous(), to: dtype, key: key)
        let t = try upload(converted, shape: shape, kind: .weights, keepForRun: false)
        weights.release([key])
        resident.store(t, provider: weights, key: key, dtype: dtype)
        return t
    }

    /// A Q8_0 host tensor (GGUF blocks) on the device, repacked: quants [N·K] int8, then scales [N·K / 32] f16.
    private func uploadQ8(_ host: Tensor, shape: Shape) throws -> Tensor {
        let count = shape.elementCount, blocks = count / 32
        let raw = try cuda.allocate(blocks * 34, kind: .scratch)
        try context.upload(host.rawPointer, bytes: blocks * 34, to: raw.deviceAddress)
        withExtendedLifetime(host) {}
        let s = try cuda.allocate(blocks * 34, kind: .weights)
        // Issued now even while a step records: the staging buffer is freed when this returns.
        let recorder = context.recorder
        context.recorder = nil
        defer { context.recorder = recorder }
        try module.launch("omni_q8_0_repack", grid: CUDAModule.blocks(blocks), block: 256, [
            .ptr(raw.deviceAddress), .long(blocks), .ptr(s.deviceAddress), .ptr(s.deviceAddress + UInt64(count))])
        try context.synchronize()
        return Tensor(storage: s, shape: shape, dtype: .q8_0)
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

extension CUDAExecutor {
    /// Of `gemm` (weights kept narrow), those read only as linear weights (not embedding tables): a Q8_0 checkpoint
    /// keeps them Q8_0 on the device.
    static func linearWeights(_ g: Graph, among gemm: Set<Int>) -> Set<Int> {
        var tables = Set<Int>()
        for node in g.nodes { if case let .embedding(table, _) = node.op { tables.insert(table.index) } }
        return gemm.subtracting(tables)
    }
}

/// A plan cache key: the graph and the kept names.
struct PlanKey: Hashable {
    let graph: Graph
    let keep: Set<String>

    /// Whether `a` and `b` hold the same graph instance (`Dictionary.value(adoptingKey:isSame:)`).
    static func same(_ a: PlanKey, _ b: PlanKey) -> Bool { a.graph.isSameInstance(as: b.graph) && a.keep == b.keep }
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

/// What an attention call's key ranges depend on (the explicit mask is applied on top, not part of them).
struct RangesKey: Hashable {
    let causal: Bool, keyOffset: Int, segments: [Int]?, window: Int?, queryLength: Int, keyLength: Int

    init(mask: AttentionMask, queryLength: Int, keyLength: Int) {
        causal = mask.causal; keyOffset = mask.keyOffset; segments = mask.segments; window = mask.window
        self.queryLength = queryLength; self.keyLength = keyLength
    }
}
