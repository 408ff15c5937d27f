import CBLAS
import Dispatch
import OmniCore

/// The one executor: runs a planned graph on the CPU device with a reusable arena, binding weights through a
/// `WeightProvider` and attention through the registry's backends. Not reentrant: one run at a time.
public final class Executor: GraphExecutor, @unchecked Sendable {
    public let registry: PluginRegistry
    public let cpu: CPUDevice
    public var device: any Device { cpu }
    private var plans: [String: ExecutionPlan] = [:]
    /// Worker threads for kernels.
    public let threads: Int
    private var arena: Storage?
    private var converted: [String: Tensor] = [:]
    private var scratch: [Storage?]
    /// Stands in for the result of nodes that own no arena bytes (inputs and weights are bound instead).
    private let placeholder = Tensor(zeros: [0])

    /// An executor on `device` with `threads` workers (default: all cores).
    public init(registry: PluginRegistry, device: CPUDevice = CPUDevice(), threads: Int? = nil) {
        self.registry = registry
        self.cpu = device
        let t = threads ?? System.coreCount
        self.threads = max(1, t)
        self.scratch = Array(repeating: nil, count: max(1, t))
        openblas_set_num_threads(1)   // we parallelize over output blocks ourselves
        poolThreads = self.threads
    }

    /// Plans `graph` (once per shape bucket; cache the plan).
    public func plan(_ graph: Graph, keep: Set<String> = []) -> ExecutionPlan { ExecutionPlan(graph: graph, keep: keep) }

    /// Runs `plan`. `inputs` binds input nodes by name; `cache` serves nodes with a cache slot and is advanced
    /// by this step's length at the end. Returns the graph outputs and the names in `keep`.
    public func run(_ plan: ExecutionPlan, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache? = nil, keep: Set<String> = [],
                    isCancelled: () -> Bool = { false }) throws -> GraphResult {
        let g = plan.graph
        try ensureArena(plan.arenaBytes)
        var bound = [Tensor?](repeating: nil, count: g.nodes.count)
        var log: [String] = []
        var cachedStep: Int?

        // Disk tier: the next `lookahead` weights are prefetched ahead of use, and each weight is released
        // right after its last reader, so only a window of layers is resident at once.
        let lookahead = 16
        weights.prefetch(Array(plan.weightKeys.prefix(lookahead)))
        var weightsSeen = 0
        for (i, node) in g.nodes.enumerated() {
            if isCancelled() { throw OmniError.cancelled }
            let out: Tensor
            if let off = plan.offsets[i] {
                out = Tensor(storage: arena!, byteOffset: off, shape: node.shape, dtype: node.dtype)
            } else {
                out = placeholder
            }
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
                let t = try weights.tensor(key)
                guard t.shape == node.shape else { throw OmniError.shapeMismatch(key: key, expected: node.shape, actual: t.shape) }
                bound[i] = t
                weightsSeen += 1
                if weightsSeen < plan.weightKeys.count - lookahead + 1 {
                    weights.prefetch([plan.weightKeys[min(weightsSeen + lookahead - 1, plan.weightKeys.count - 1)]])
                }
                continue
            default:
                break
            }
            func arg(_ v: ValueID) -> Tensor { bound[v.index]! }
            switch node.op {
            case .input, .weight:
                break
            case let .embedding(table, ids):
                try Kernels.embedding(table: arg(table), ids: arg(ids), out: out, converter: registry)
            case let .linear(x, w, b):
                try Kernels.linear(x: arg(x), weight: arg(w), bias: try b.map { try f32(arg($0), key: g[$0].name) },
                               out: out, threads: threads, scratch: scratchPanels)
            case let .rmsNorm(x, w, eps):
                Kernels.rmsNorm(x: arg(x), weight: try f32(arg(w), key: g[w].name), eps: eps, out: out)
            case let .layerNorm(x, w, b, eps):
                Kernels.layerNorm(x: arg(x), weight: try w.map { try f32(arg($0), key: g[$0].name) },
                                  bias: try b.map { try f32(arg($0), key: g[$0].name) }, eps: eps, out: out)
            case let .add(a, b):
                Kernels.add(arg(a), arg(b), out: out)
            case let .mul(a, b):
                Kernels.mul(arg(a), arg(b), out: out)
            case let .silu(x):
                Kernels.silu(arg(x), out: out)
            case let .swiglu(gate, up):
                Kernels.swiglu(gate: arg(gate), up: arg(up), out: out)
            case let .gelu(x, tanh):
                Kernels.gelu(arg(x), tanh: tanh, out: out)
            case let .rope(x, p, heads, hd, theta, kind):
                try Kernels.rope(x: arg(x), positions: arg(p), heads: heads, headDim: hd, theta: theta, kind: kind, out: out)
            case let .attention(q, k, v, m, spec):
                let entry = try attention(q: arg(q), k: arg(k), v: arg(v), mask: m.map(arg), spec: spec, out: out, cache: cache,
                                          name: node.name)
                if spec.cacheSlot != nil { cachedStep = arg(q).shape[0] }
                if let e = entry { log.append(e) }
            case let .softmax(x):
                Kernels.softmax(arg(x), out: out)
            case let .concat(xs, axis):
                Kernels.concat(xs.map(arg), axis: axis, out: out)
            case let .slice(x, axis, range):
                Kernels.copy(arg(x).sliced(axis: axis, range), into: out)
            case let .permute(x, axes):
                Kernels.copy(arg(x).permuted(axes), into: out)
            case let .conv1d(x, w, b, stride, padding, dilation, groups):
                try Kernels.conv1d(x: arg(x), weight: try f32(arg(w), key: g[w].name),
                                   bias: try b.map { try f32(arg($0), key: g[$0].name) }, stride: stride,
                                   padding: padding, dilation: dilation, groups: groups, out: out)
            case let .convTranspose1d(x, w, b, stride, padding):
                try Kernels.convTranspose1d(x: arg(x), weight: try f32(arg(w), key: g[w].name),
                                            bias: try b.map { try f32(arg($0), key: g[$0].name) }, stride: stride, padding: padding, out: out)
            case let .snakeBeta(x, a, b):
                try Kernels.snakeBeta(arg(x), alpha: try f32(arg(a), key: g[a].name), beta: try f32(arg(b), key: g[b].name), out: out)
            case let .scale(x, factor):
                Kernels.scale(arg(x), factor, out: out)
            case let .unary(x, kind):
                Kernels.unary(arg(x), kind, out: out)
            case let .reflectPad(x, left, right):
                Kernels.reflectPad(arg(x), left: left, right: right, out: out)
            case let .gatherRows(x, indices):
                Kernels.gatherRows(arg(x), indices, out: out)
            case let .reshape(x, shape):
                if g[x].op.isWeight {
                    bound[i] = try arg(x).contiguous().reshaped(shape)
                    if let done = plan.releaseAfter[i] { weights.release(done) }
                    continue
                }
                arg(x).withContiguousBytes { out.mutableRawPointer.copyMemory(from: $0, byteCount: out.byteCount) }
            case let .poolRows(x, window):
                Kernels.poolRows(arg(x), window: window, out: out)
            case let .rows(x, range):
                let src = arg(x)
                let w = src.shape[-1]
                out.mutableRawPointer.copyMemory(from: src.rawPointer + range.lowerBound * w * 4, byteCount: range.count * w * 4)
            }
            bound[i] = out
            if let done = plan.releaseAfter[i] { weights.release(done) }
        }
        if let step = cachedStep, let cache { cache.advance(by: step) }

        var result: [String: Tensor] = [:]
        for v in g.outputs { result[g[v].name] = copy(bound[v.index]!) }
        for name in keep { if let v = g.value(named: name), let t = bound[v.index] { result[name] = copy(t) } }
        return GraphResult(values: result, attentionLog: log)
    }

    /// Runs `graph`, reusing the plan cached under `bucket` (one per shape bucket, e.g. "thinker.decode").
    public func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
                    cache: KVCache?, keep: Set<String>) throws -> GraphResult {
        let plan: ExecutionPlan
        if let b = bucket, let p = plans[b], p.graph.nodes.count == graph.nodes.count {
            plan = p
        } else {
            plan = ExecutionPlan(graph: graph, keep: keep)
            if let b = bucket { plans[b] = plan }
        }
        return try run(plan, inputs: inputs, weights: weights, cache: cache, keep: keep)
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

    /// Thread-local f32 panels for converting weight rows before a GEMM.
    private var scratchPanels: (Int, Int) throws -> UnsafeMutablePointer<Float> {
        { [unowned self] thread, floats in
            if let s = self.scratch[thread], s.byteCount >= floats * 4 {
                return s.base.assumingMemoryBound(to: Float.self)
            }
            self.scratch[thread] = nil
            let s = try self.cpu.allocate(floats * 4, kind: .scratch)
            self.scratch[thread] = s
            return s.base.assumingMemoryBound(to: Float.self)
        }
    }

    /// An f32 view of a small weight (norms, biases), converted once on first use.
    private func f32(_ t: Tensor, key: String) throws -> Tensor {
        if t.dtype == .f32 { return t.contiguous() }
        if let c = converted[key] { return c }
        let out = Tensor(zeros: t.shape, dtype: .f32)
        let conv = try registry.converter(from: t.dtype, to: .f32)
        try t.withContiguousBytes { try conv.convert($0, from: t.dtype, to: out.mutableRawPointer, .f32, count: t.elementCount) }
        converted[key] = out
        return out
    }

    private func attention(q: Tensor, k: Tensor, v: Tensor, mask explicit: Tensor?, spec: AttentionSpec, out: Tensor,
                           cache: KVCache?, name: String) throws -> String? {
        let t = q.shape[0]
        let width = spec.kvHeads * spec.headDim
        var kp = UnsafePointer(k.rawPointer.assumingMemoryBound(to: Float.self))
        var vp = UnsafePointer(v.rawPointer.assumingMemoryBound(to: Float.self))
        var keyLength = t
        var mask = AttentionMask(causal: spec.causal, segments: spec.segments, window: spec.window, explicit: explicit?.contiguous())
        if let slot = spec.cacheSlot {
            guard let cache else {
                throw OmniError.invalidArgument(name: "cache", expected: "a KV cache for \(name)", actual: "none")
            }
            guard cache.rowWidth == width else {
                throw OmniError.invalidArgument(name: "cache", expected: "row width \(width)", actual: "\(cache.rowWidth)")
            }
            guard cache.length + t <= cache.capacity else {
                throw OmniError.invalidArgument(name: "cache", expected: "≤ \(cache.capacity) tokens",
                                                actual: "\(cache.length + t) (raise the KV-cache capacity / max tokens)")
            }
            let kc = cache.keyRows(slot), vc = cache.valueRows(slot)
            (kc + cache.length * width).update(from: kp, count: t * width)
            (vc + cache.length * width).update(from: vp, count: t * width)
            kp = UnsafePointer(kc)
            vp = UnsafePointer(vc)
            mask.keyOffset = cache.length
            keyLength = cache.length + t
        }
        let shape = AttentionShape(queryLength: t, keyLength: keyLength, heads: spec.heads, kvHeads: spec.kvHeads,
                                   headDim: spec.headDim)
        let (backend, log) = try registry.selectAttention(chain: spec.backendChain, shape: shape, mask: mask)
        let scratchBytes = backend.scratchBytes(for: shape, threads: threads)
        try cpu.memory.reserve(scratchBytes, kind: .scratch)
        defer { cpu.memory.release(scratchBytes, kind: .scratch) }
        let call = AttentionCall(shape: shape, mask: mask,
                                 q: UnsafePointer(q.rawPointer.assumingMemoryBound(to: Float.self)), qRowStride: spec.heads * spec.headDim,
                                 k: kp, kRowStride: width, v: vp, vRowStride: width,
                                 out: out.floatPointer, outRowStride: spec.heads * spec.headDim, threads: threads)
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
