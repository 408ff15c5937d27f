import CBLAS
import CKernels
import Dispatch
import Foundation
import OmniCore

/// The one executor: runs a planned graph on the CPU device with a reusable arena, binding weights through a
/// `WeightProvider` and attention through the registry's backends.
///
/// One run at a time: the arena, the plan cache and the scratch buffers are shared by every run, so `run` takes
/// `runLock` for its whole length (and `cachedPlan` for its lookup). Callers on any thread are serialized; a run
/// must not start another run from inside a kernel (the lock is not recursive).
public final class Executor: GraphExecutor, Backend, @unchecked Sendable {
    /// Held for the length of every run and plan-cache access.
    private let runLock = NSLock()
    public let registry: PluginRegistry
    public let cpu: CPUDevice
    public var device: any Device { cpu }
    /// Plans by the graph they were made for (and the names kept alive); at most one per bucket is retained.
    private var plans: [PlanKey: ExecutionPlan] = [:]
    private var bucketKeys: [String: PlanKey] = [:]
    /// The CPU's kernels by op kind; every node is dispatched through it.
    let kernels = CPUKernelTable.standard
    /// Worker threads for kernels.
    public let threads: Int
    /// GEMM precision: `.bf16` runs the GEMMs of linears with bf16 weights (prefill, the towers, the talker and the DiT)
    /// in bf16 compute where the CPU has AMX-BF16 (`omni_gemm_bf16w`: x rounded to bf16, f32 sums), else in f32 as
    /// `.f32` (the parity default) does. Decode's matrix-vector kernels and attention are f32 either way.
    public let precision: ComputePrecision
    private var arena: Storage?
    /// f32 copies of small non-f32 weights, per weight provider (a model), by key.
    private var converted = ConvertedWeights()
    /// Sibling decode linears per graph (`DecodeGroups`), found once per graph.
    private var groupCache: [Graph: DecodeGroups] = [:]
    /// A batched decode step's per-lane attention per graph (`LaneAttentionGroups`), found once per graph.
    private var laneGroupCache: [Graph: LaneAttentionGroups] = [:]
    /// Weight nodes only linears read, per graph (`LinearWeights`).
    private var linearWeightCache: [Graph: LinearWeights] = [:]
    /// Whether Q8_0 and Q4_0 weights that only linears read are bound with their rows interleaved by 8
    /// (`TensorLayout.q8_0Rows8` / `.q4_0Rows8`, kept so by the weight provider), the layout of the decode and
    /// small-batch kernels (matvec_q8r8.c). On by default; off binds the stored layout (for A/B comparisons and tests).
    public var interleavesQuantizedWeights = true
    /// Decode groups run as one parallel region so far (for tests and reports).
    private(set) var decodeGroupRuns = 0
    /// Lane attention groups run as one so far (for tests).
    private(set) var laneAttentionRuns = 0
    private var scratch: [Storage?]
    /// Attention backends' scratch (one call at a time).
    private var attentionScratchStorage: Storage?
    /// The weight provider of the run in progress (the f32 conversion cache is per provider).
    private var currentWeights: (any WeightProvider)?
    /// Stands in for the result of nodes that own no arena bytes (inputs and weights are bound instead).
    private let placeholder = Tensor(zeros: [0])

    /// An executor on `device` with `threads` workers (default: all cores) and GEMMs in `precision`.
    public init(registry: PluginRegistry, device: CPUDevice = CPUDevice(), threads: Int? = nil, precision: ComputePrecision = .f32) {
        self.registry = registry
        self.cpu = device
        self.precision = precision
        let t = threads ?? System.coreCount
        self.threads = max(1, t)
        self.scratch = Array(repeating: nil, count: max(1, t))
        openblas_set_num_threads(1)   // we parallelize over output blocks ourselves
        poolThreads = self.threads
    }

    /// Plans `graph` (the caller keeps the plan; `run(_:bucket:…)` caches plans itself).
    public func plan(_ graph: Graph, keep: Set<String> = []) -> ExecutionPlan { ExecutionPlan(graph: graph, keep: keep) }

    /// Runs `plan`, dispatching every node through the CPU kernel table. `inputs` binds input nodes by name;
    /// `cache` is written and read by the graph's `cacheWrite` / `cachedAttention` nodes (a failed run is undone).
    /// Returns the graph outputs and the names in `keep`.
    public func run(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache? = nil, keep: Set<String> = [],
                    isCancelled: () -> Bool = { false }) throws -> GraphResult {
        runLock.lock(); defer { runLock.unlock() }
        return try runLocked(plan, inputs: inputs, weights: weights, cache: cache, keep: keep, isCancelled: isCancelled)
    }

    private func runLocked(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider,
                           cache: KVCache?, keep: Set<String>, isCancelled: () -> Bool) throws -> GraphResult {
        let g = plan.graph
        try ensureArena(plan.arenaBytes)
        currentWeights = weights
        defer { currentWeights = nil }
        var bound = [Tensor?](repeating: nil, count: g.nodes.count)
        var log: [String] = []

        // Disk tier: the next `lookahead` weights are prefetched ahead of use, and each weight is released
        // right after its last reader, so only a window of layers is resident at once.
        let lookahead = 16
        weights.prefetch(Array(plan.weightKeys.prefix(lookahead)))
        var weightsSeen = 0
        // The cache's slots are written by cacheWrite nodes as the graph runs; a run that fails half way is undone,
        // so the cache never holds a partial step.
        let committed = cache?.slotLengths
        var completed = false
        defer { if let cache, let committed, !completed { cache.restore(committed) } }
        let linearOnly = linearWeights(for: g).nodes
        func bindWeight(_ i: Int, _ key: String) throws {
            var t = try weights.tensor(key)
            guard t.shape == g.nodes[i].shape else { throw OmniError.shapeMismatch(key: key, expected: g.nodes[i].shape, actual: t.shape) }
            let interleave = interleavesQuantizedWeights && linearOnly.contains(i) && !keep.contains(g.nodes[i].name)
            if interleave, t.layout == .standard, let layout = TensorLayout.interleaved(for: t.dtype),
               layout.admits(dtype: t.dtype, shape: t.shape),
               let r = try weights.tensor(key, layout: layout, prepare: { src, dst in
                   let s = src.rawPointer.assumingMemoryBound(to: UInt8.self), d = dst.assumingMemoryBound(to: UInt8.self)
                   if layout == .q8_0Rows8 { omni_q8_0_r8_pack(s, d, src.shape[1], src.shape[0]) }
                   else { omni_q4_0_r8_pack(s, d, src.shape[1], src.shape[0]) }
               }) {
                t = r
            } else if t.layout != .standard, !interleave {
                t = try standardLayout(t)
            }
            bound[i] = t
            weightsSeen += 1
            if weightsSeen < plan.weightKeys.count - lookahead + 1 {
                weights.prefetch([plan.weightKeys[min(weightsSeen + lookahead - 1, plan.weightKeys.count - 1)]])
            }
        }
        // Graph outputs are written into tensors of their own, handed back as they are (no copy out of the arena,
        // e.g. a batched step's [B, vocab] logits); a kernel that returns a view instead is copied as before.
        let graphOutputs = Set(g.outputs.map(\.index))
        var own: [Int: Storage] = [:]
        func output(_ i: Int) -> Tensor {
            guard let off = plan.offsets[i] else { return placeholder }
            let node = g.nodes[i]
            if graphOutputs.contains(i), let bytes = node.dtype.byteCount(elements: node.shape.elementCount) {
                let s = Storage(uninitializedByteCount: bytes)
                own[i] = s
                return Tensor(storage: s, shape: node.shape, dtype: node.dtype)
            }
            return Tensor(storage: arena!, byteOffset: off, shape: node.shape, dtype: node.dtype)
        }
        func runNode(_ i: Int) throws {
            let node = g.nodes[i]
            guard let entry = kernels.entries[node.op.kind] else {
                throw OmniError.unsupported(what: "\(node.op.kind) (\(node.name)) on \(cpu.id)", reasons: ["no kernel in its table"])
            }
            let args = node.op.inputs.map { bound[$0.index]! }
            switch node.op {
            case .linear, .embedding: break   // their kernels read the interleaved layouts (LinearWeights)
            default:
                if let odd = args.first(where: { $0.layout != .standard }) {
                    throw OmniError.unsupported(what: "\(node.op.kind) (\(node.name)) on \(cpu.id)",
                                                reasons: ["an input in layout \(odd.layout) (only linear and embedding kernels read it)"])
                }
            }
            if let bad = args.first(where: { !entry.dtypes.contains($0.dtype) }) {
                throw OmniError.unsupported(what: "\(node.op.kind) (\(node.name)) on \(cpu.id)",
                                            reasons: ["input dtype \(bad.dtype) (the CPU kernel takes \(entry.dtypes.map(\.rawValue).sorted()))"])
            }
            let out = output(i)
            var call = CPUKernelCall(node: node, graph: g, inputs: args, out: out, executor: self, cache: cache)
            try entry.kernel(&call)
            if let e = call.log { log.append(e) }
            bound[i] = call.view ?? out
        }
        let groups = decodeGroups(for: g)
        let laneGroups = laneAttentionGroups(for: g)
        var resume = 0
        for (i, node) in g.nodes.enumerated() where i >= resume {
            if isCancelled() { throw OmniError.cancelled }
            switch node.op {
            case let .input(name):
                guard let t = inputs[name] else {
                    throw OmniError.invalidArgument(name: name, expected: "input \(node.shape) \(node.dtype)", actual: "missing")
                }
                guard t.shape.elementCount == node.shape.elementCount, t.dtype == node.dtype else {
                    throw OmniError.invalidArgument(name: name, expected: "\(node.shape) \(node.dtype)",
                                                    actual: "\(t.shape) \(t.dtype)")
                }
                bound[i] = t.contiguous()
                continue
            case let .weight(key):
                try bindWeight(i, key)
                continue
            default:
                break
            }
            if let lanes = laneGroups.groups[i],
               !(lanes.first...lanes.concat).contains(where: { keep.contains(g.nodes[$0].name) }),
               try runLaneAttention(lanes, graph: g, bound: &bound, output: output(lanes.concat), cache: cache, log: &log) {
                for j in i...lanes.concat { if let done = plan.releaseAfter[j] { weights.release(done) } }
                resume = lanes.concat + 1
                continue
            }
            if let group = groups.groups[i] {
                // Sibling decode linears (q/k/v, gate/up): bind the weights between them, then one parallel region
                // for all of them when their weights share a dtype and their outputs are apart; else one by one.
                for j in (i + 1)...group.last { if case let .weight(key) = g.nodes[j].op { try bindWeight(j, key) } }
                if try !runDecodeGroup(group.members, graph: g, plan: plan, bound: &bound, output: output) {
                    for m in group.members { try runNode(m) }
                }
                for j in i...group.last { if let done = plan.releaseAfter[j] { weights.release(done) } }
                resume = group.last + 1
                continue
            }
            try runNode(i)
            if let done = plan.releaseAfter[i] { weights.release(done) }
        }
        completed = true

        var result: [String: Tensor] = [:]
        for v in g.outputs {
            let t = bound[v.index]!
            result[g[v].name] = own[v.index].map { $0 === t.storage && t.isContiguous } == true ? t : copy(t)
        }
        for name in keep { if let v = g.value(named: name), let t = bound[v.index] { result[name] = copy(t) } }
        return GraphResult(values: result, attentionLog: log)
    }

    /// Runs `graph`, reusing its cached plan when `bucket` is given (e.g. "thinker.decode"). Plans are keyed by
    /// the graph itself and the kept names, so two graphs under one bucket never share a plan; a bucket retains
    /// only its latest plan, so the cache stays bounded when a bucket's graph changes.
    public func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache?, keep: Set<String>) throws -> GraphResult {
        runLock.lock(); defer { runLock.unlock() }
        return try runLocked(cachedPlanLocked(graph, bucket: bucket, keep: keep), inputs: inputs, weights: weights,
                             cache: cache, keep: keep, isCancelled: { false })
    }

    /// The plan for `graph` under `bucket`: the cached one when the same graph (and kept names) was planned
    /// before, else a new one (cached when `bucket` is given).
    public func cachedPlan(_ graph: Graph, bucket: String?, keep: Set<String>) -> ExecutionPlan {
        runLock.lock(); defer { runLock.unlock() }
        return cachedPlanLocked(graph, bucket: bucket, keep: keep)
    }

    private func cachedPlanLocked(_ graph: Graph, bucket: String?, keep: Set<String>) -> ExecutionPlan {
        guard let b = bucket else { return ExecutionPlan(graph: graph, keep: keep) }
        let key = PlanKey(graph: graph, keep: keep)
        if let p = plans.value(adoptingKey: key, isSame: PlanKey.same) { return p }
        if let old = bucketKeys[b] { plans[old] = nil }
        let plan = ExecutionPlan(graph: graph, keep: keep)
        plans[key] = plan
        bucketKeys[b] = key
        return plan
    }

    /// `make(graph)`, computed once per graph and kept in `cache` (emptied when 64 graphs were seen).
    private static func perGraph<T>(_ cache: inout [Graph: T], _ graph: Graph, _ make: (Graph) -> T) -> T {
        if let d = cache.value(adoptingKey: graph, isSame: { $0.isSameInstance(as: $1) }) { return d }
        if cache.count >= 64 { cache.removeAll() }
        let d = make(graph)
        cache[graph] = d
        return d
    }

    /// The weight nodes of `graph` only linears read.
    private func linearWeights(for graph: Graph) -> LinearWeights {
        Self.perGraph(&linearWeightCache, graph) { LinearWeights(graph: $0) }
    }

    /// A stored-layout copy of a weight that the provider keeps in a kernel's layout, for a reader that is not a
    /// linear kernel (e.g. a table another graph reads through `linear` only, read here by `embedding`).
    private func standardLayout(_ t: Tensor) throws -> Tensor {
        switch t.layout {
        case .standard: return t
        case .q8_0Rows8, .q4_0Rows8:
            let out = Tensor(zeros: t.shape, dtype: t.dtype)
            let s = t.rawPointer.assumingMemoryBound(to: UInt8.self), d = out.mutableRawPointer.assumingMemoryBound(to: UInt8.self)
            if t.layout == .q8_0Rows8 { omni_q8_0_r8_unpack(s, d, t.shape[1], t.shape[0]) }
            else { omni_q4_0_r8_unpack(s, d, t.shape[1], t.shape[0]) }
            return out
        }
    }

    /// The sibling decode linears of `graph`.
    private func decodeGroups(for graph: Graph) -> DecodeGroups { Self.perGraph(&groupCache, graph) { DecodeGroups(graph: $0) } }

    /// A batched decode step's lane attention groups of `graph`.
    private func laneAttentionGroups(for graph: Graph) -> LaneAttentionGroups {
        Self.perGraph(&laneGroupCache, graph) { LaneAttentionGroups(graph: $0) }
    }

    /// Runs a batched step's lane attention (`LaneAttentionGroups`) as one: every lane's K/V row b of k and v appended
    /// to its cache slot, then the lanes' attentions (q's row b over the lane's slot) as one parallel region over the
    /// lanes, each call on one thread with scratch of its own, into rows of a scratch block, then copied to the
    /// concat's output `out` (which the plan may lay over q's bytes). The same copies and the same attention
    /// arithmetic per head as the group's nodes one by one (a backend's heads do not depend on its thread count), so
    /// the same bits, without the 3·B row copies, the B regions and the per-node dispatch. Returns false, having run
    /// nothing, when q, k or v is not plain f32 or the cache is not an f32 cache on this CPU (the nodes then run one
    /// by one, and refuse another cache with a typed error).
    private func runLaneAttention(_ lg: LaneAttentionGroups.Group, graph g: Graph, bound: inout [Tensor?], output out: Tensor,
                                  cache: KVCache?, log: inout [String]) throws -> Bool {
        guard let cache, cache.device == cpu.id, cache.dtype == .f32, let q = bound[lg.q.index], let k = bound[lg.k.index],
              let v = bound[lg.v.index],
              [q, k, v].allSatisfy({ $0.dtype == .f32 && $0.layout == .standard && $0.isContiguous }) else { return false }
        let lanes = lg.lanes.count, width = q.shape[1]
        for (b, lane) in lg.lanes.enumerated() {
            let row = b..<(b + 1), start = cache.length(of: lane.slot)
            try cache.checkAppend(slot: lane.slot, rows: 1, width: k.shape[1])
            Kernels.copy(k.slice(row), into: cache.keys(lane.slot).slice(start..<(start + 1)))
            Kernels.copy(v.slice(row), into: cache.values(lane.slot).slice(start..<(start + 1)))
            cache.commit(slot: lane.slot, count: 1)
        }
        // Per lane: its backend (the chain's first that takes its shape), its scratch bytes for one thread.
        var chosen: [(backend: any AttentionBackend, shape: AttentionShape, mask: AttentionMask, offset: Int)] = []
        var bytes = (lanes * width * 4 + 63) / 64 * 64                    // (B, H·hd) f32 outputs first
        for (b, lane) in lg.lanes.enumerated() {
            let keys = cache.length(of: lane.slot)
            let shape = AttentionShape(queryLength: 1, keyLength: keys, heads: lane.spec.heads, kvHeads: lane.spec.kvHeads,
                                       headDim: lane.spec.headDim)
            let mask = AttentionMask(causal: lane.spec.causal, keyOffset: keys - 1, window: lane.spec.window)
            let (backend, why) = try registry.selectAttention(chain: lane.spec.backendChain, shape: shape, mask: mask, device: cpu.id)
            if !why.isEmpty { log.append("\(g.nodes[lg.lanes[b].attention].name): " + why.joined(separator: "; ")) }
            chosen.append((backend, shape, mask, bytes))
            bytes += (max(backend.scratchBytes(for: shape, threads: 1), 64) + 63) / 64 * 64
        }
        let scratch = try attentionScratch(bytes)
        let rows = Tensor(storage: scratch.storage, shape: [lanes, width], dtype: .f32)
        let qc = q, dev = cpu.id
        try parallelFor(lanes) { b in
            let lane = lg.lanes[b], c = chosen[b]
            let call = AttentionCall(shape: c.shape, mask: c.mask, q: qc.slice(b..<(b + 1)),
                                     k: cache.keys(lane.slot).slice(0..<c.shape.keyLength),
                                     v: cache.values(lane.slot).slice(0..<c.shape.keyLength), out: rows.slice(b..<(b + 1)),
                                     scratch: Tensor(storage: scratch.storage, byteOffset: c.offset,
                                                     shape: [max(c.backend.scratchBytes(for: c.shape, threads: 1), 64)], dtype: .u8),
                                     threads: 1, device: dev)
            try c.backend.run(call)
        }
        Kernels.copy(rows, into: out)
        bound[lg.concat] = out
        laneAttentionRuns += 1
        return true
    }

    /// Runs the linear nodes `members` (input x of 1 … 16 rows shared, weights bound) as one parallel region. Returns false,
    /// having run nothing, when they cannot share one: weights of different dtypes (or none the matvec kernels
    /// take), or an output that overlaps another's or x's bytes in the arena.
    private func runDecodeGroup(_ members: [Int], graph g: Graph, plan: ExecutionPlan, bound: inout [Tensor?],
                                output: (Int) -> Tensor) throws -> Bool {
        guard case let .linear(xv, _, _) = g.nodes[members[0]].op, let x = bound[xv.index], x.dtype == .f32 else { return false }
        var products: [Kernels.DecodeProduct] = []
        var spans: [Range<Int>] = []
        if let off = plan.offsets[xv.index] { spans.append(off..<(off + x.byteCount)) }
        for m in members {
            guard case let .linear(_, wv, bv) = g.nodes[m].op, let w = bound[wv.index],
                  let off = plan.offsets[m] else { return false }
            let first = bound[g.nodes[members[0]].op.inputs[1].index]
            guard CPUKernelTable.floats.contains(w.dtype), w.dtype == first?.dtype, w.layout == first?.layout,
                  w.isContiguous else { return false }
            let out = output(m)
            let span = off..<(off + out.byteCount)
            if spans.contains(where: { $0.overlaps(span) }) { return false }
            spans.append(span)
            let bias = try bv.map { try f32(bound[$0.index]!, key: g[$0].name) }
            products.append(Kernels.DecodeProduct(weight: w, bias: bias, out: out))
        }
        if x.elementCount == x.shape[-1] {
            try Kernels.linearDecode(x: x.contiguous(), products: products, threads: threads, scratch: scratchPanels)
        } else if try !Kernels.linearSmallBatch(x: x.contiguous(), products: products, threads: threads, scratch: scratchPanels) {
            return false
        }
        for (m, p) in zip(members, products) { bound[m] = p.out }
        decodeGroupRuns += 1
        return true
    }

    /// Number of plans cached (for tests and reports).
    public var cachedPlanCount: Int {
        runLock.lock(); defer { runLock.unlock() }
        return plans.count
    }

    /// How convolutions spread their GEMMs over the cores (process-wide; `omni bench conv` compares the two).
    public static var convolutionThreading: ConvolutionThreading {
        get { Kernels.convolutionThreading }
        set { Kernels.convolutionThreading = newValue }
    }

    /// Whether the CPU kernel table runs `op` with inputs of `dtypes`.
    public func supports(_ op: Op, dtypes: [DType]) -> Bool { kernels.supports(op, dtypes: dtypes) }

    /// A contiguous host copy of a tensor on the CPU.
    public func read(_ tensor: Tensor) throws -> Tensor {
        guard tensor.device == cpu.id else {
            throw OmniError.invalidArgument(name: "tensor", expected: "a tensor on \(cpu.id)", actual: "one on \(tensor.device)")
        }
        return copy(tensor)
    }

    /// Memory use of this executor's device.
    public func memoryReport() -> MemoryReport { cpu.memory.report() }

    // MARK: helpers

    private func copy(_ t: Tensor) -> Tensor {
        let c = Tensor(zeros: t.shape, dtype: t.dtype)
        t.withContiguousBytes { c.mutableRawPointer.copyMemory(from: $0, byteCount: t.byteCount) }
        return c
    }

    private func ensureArena(_ bytes: Int) throws {
        if let a = arena, a.byteCount >= bytes { return }
        arena = nil
        arena = try cpu.allocate(max(bytes, 64), kind: .activations)
    }

    /// Frees the arena (it only grows); the next run allocates its own again.
    public func releaseBuffers() {
        runLock.lock(); defer { runLock.unlock() }
        arena = nil
    }

    /// Thread-local f32 panels for converting weight rows before a GEMM.
    var scratchPanels: (Int, Int) throws -> UnsafeMutablePointer<Float> {
        { [unowned self] thread, floats in
            if let s = self.scratch[thread], s.byteCount >= floats * 4 {
                return s.cpuAddress.assumingMemoryBound(to: Float.self)
            }
            self.scratch[thread] = nil
            let s = try self.cpu.allocate(floats * 4, kind: .scratch)
            self.scratch[thread] = s
            return s.cpuAddress.assumingMemoryBound(to: Float.self)
        }
    }

    /// An f32 view of a small weight (norms, biases), converted once on first use.
    func f32(_ t: Tensor, key: String) throws -> Tensor {
        if t.dtype == .f32 { return t.contiguous() }
        if let c = converted.lookup(provider: currentWeights, key: key) { return c }
        let out = Tensor(zeros: t.shape, dtype: .f32)
        let conv = try registry.converter(from: t.dtype, to: .f32)
        try t.withContiguousBytes { try conv.convert($0, from: t.dtype, to: out.mutableRawPointer, .f32, count: t.elementCount) }
        converted.store(out, provider: currentWeights, key: key)
        return out
    }

    /// At least `bytes` of attention scratch from the device allocator (accounted as scratch), grown when a call
    /// needs more and reused across calls.
    private func attentionScratch(_ bytes: Int) throws -> Tensor {
        if let s = attentionScratchStorage, s.byteCount >= bytes { return Tensor(storage: s, shape: [s.byteCount], dtype: .u8) }
        attentionScratchStorage = nil   // freed (and its accounting released) before the larger one is reserved
        let s = try cpu.allocate(max(bytes, 64), kind: .scratch)
        attentionScratchStorage = s
        return Tensor(storage: s, shape: [s.byteCount], dtype: .u8)
    }

    func requireCache(_ cache: KVCache?, _ name: String) throws -> KVCache {
        guard let cache else { throw OmniError.invalidArgument(name: "cache", expected: "a KV cache for \(name)", actual: "none") }
        guard cache.dtype == .f32 else {
            throw OmniError.invalidArgument(name: "cache", expected: "an f32 KV cache for \(name) (the cpu's kernels read f32 rows)",
                                            actual: "a \(cache.dtype) cache")
        }
        return cache
    }

    /// Runs one attention call through the first backend of `spec.backendChain` that supports it on this device;
    /// returns the fallback log line, if any.
    func attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, spec: AttentionSpec, out: Tensor,
                   name: String) throws -> String? {
        let shape = AttentionShape(queryLength: q.shape[0], keyLength: k.shape[0], heads: spec.heads, kvHeads: spec.kvHeads,
                                   headDim: spec.headDim)
        let (backend, log) = try registry.selectAttention(chain: spec.backendChain, shape: shape, mask: mask, device: cpu.id)
        let call = AttentionCall(shape: shape, mask: mask, q: q, k: k, v: v, out: out,
                                 scratch: try attentionScratch(backend.scratchBytes(for: shape, threads: threads)),
                                 threads: threads, device: cpu.id, parallel: { n, body in try? parallelFor(n, body) })
        try backend.run(call)
        return log.isEmpty ? nil : "\(name): " + log.joined(separator: "; ")
    }
}

/// Host facts.
public enum System {
    /// Online CPU cores.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

#if canImport(Glibc)
import Glibc
#endif
