import CCUDA
import Foundation
import OmniCore

// Decode as one CUDA graph replay per token.
//
// A decode plan (bucketed, run with a KV cache, every cached attention over ≤ 4 query rows, nothing that must run on
// the host between kernels) runs in "step" mode: the executor walks the nodes as usual but the context records every
// launch, device copy and GEMM instead of issuing it (`CUDARecorder`). What changes from token to token is read by
// the kernels from one small device buffer written by one asynchronous copy before the launch: the cache slots'
// committed lengths (`lens`, int32 per slot) and the run's inputs (token id, positions). The cache write and the
// attention read lens[slot] + delta on the device (kernels/step.cu, decode_attention.cu); the attention's key span
// is a power of two ≥ 256 (capped by the cache's capacity), so the same launches serve every token until the cache
// outgrows the span. If the recorded operations equal the last step's, the instantiated graph is replayed
// (cuGraphLaunch); otherwise the operations are captured (cuStreamBeginCapture … cuStreamEndCapture) into a new
// graph. Where capture is not possible (no graph entry points in the driver, a capture error, OMNI_CUDA_GRAPHS=0)
// the same recorded operations are issued one by one, so both paths compute the same thing.

/// One stream operation of a recorded step.
enum CUDAStreamOp: Equatable {
    case launch(function: omni_CUfunction, grid: Int, block: Int, shared: Int, args: [CUDAArg], name: String)
    case copy(src: UInt64, dst: UInt64, bytes: Int)
    case matmul(x: UInt64, w: UInt64, y: UInt64, rows: Int, inF: Int, outF: Int, type: Int32, outType: Int32, bias: UInt64, ldy: Int)
}

/// The operations of one step, in stream order.
final class CUDARecorder {
    var ops: [CUDAStreamOp] = []
    init() { ops.reserveCapacity(1024) }
}

/// Where a step-mode node finds its per-token key count: lens[slot] + delta on the device.
struct CUDADynamicKeys {
    /// Device address of the int32 slot lengths (committed before this step).
    let lens: UInt64
    let slot: Int
    /// Rows this run appended to `slot` before the node.
    let delta: Int
    /// The node (its ranges buffer is kept per node).
    let node: Int
}

/// What one walk of a decode plan's nodes established besides its operations: the next step skips the walk when
/// the cache buffers, arena, scratch buffers, weights and key spans are the same (then the operations are too).
struct CUDAStepShortcut {
    /// A cached attention's key span and how it was chosen.
    struct Span {
        let slot: Int, delta: Int, capacity: Int, span: Int
    }
    /// The executor's buffers the operations point into: arena, scratch buffers.
    let buffers: [UInt64]
    /// K and V buffer addresses of every cache slot.
    let cacheBuffers: [UInt64]
    let spans: [Span]
    /// Rows each cache write appended, in node order.
    let commits: [(slot: Int, rows: Int, width: Int)]
    /// Outputs and kept values: name and device tensor (in the arena).
    let results: [(name: String, tensor: Tensor)]
    let log: [String]
}

/// The step-mode state of one decode plan: the staging buffers, per-node device buffers and the last graph.
final class CUDAStepState {
    /// Whether CUDA graphs are used (OMNI_CUDA_GRAPHS=0 turns them off: the recorded launches are issued one by one).
    static let graphsEnabled = ProcessInfo.processInfo.environment["OMNI_CUDA_GRAPHS"] != "0"
    /// OMNI_CUDA_STEP=0: no step mode at all (every node launched as it is walked, key ranges uploaded per
    /// attention node: the path before CUDA graphs, kept for comparison).
    static let stepModeEnabled = ProcessInfo.processInfo.environment["OMNI_CUDA_STEP"] != "0"
    /// OMNI_CUDA_TRACE=1: each capture, and the counts when a plan's state goes, on stderr.
    static let trace = ProcessInfo.processInfo.environment["OMNI_CUDA_TRACE"] == "1"
    /// OMNI_CUDA_STEP_TIMES=1: each replayed step synchronizes once more (after the graph, before the results are
    /// downloaded) so that the trace at the end can split a step's wall time into the executor's segments (plan
    /// lookups, begin, shortcut, inputs, commits, graph, results; `CUDAExecutor.mark`) and the host's time outside the
    /// executor between steps (the caller's sampling and bookkeeping).
    static let stepTimes = ProcessInfo.processInfo.environment["OMNI_CUDA_STEP_TIMES"] == "1"
    /// Summed nanoseconds per segment of a replayed step (segment i runs from mark i to mark i + 1), and the host's
    /// time between steps.
    private var timed: (steps: Int, names: [String], sums: [UInt64], outside: UInt64, lastEnd: UInt64) = (0, [], [], 0, 0)

    /// Notes one replayed step's marks (name, nanoseconds since boot), the first when the executor was entered, the
    /// last when the results were downloaded; each segment is named by the mark that ends it.
    func noteTimes(_ marks: [(String, UInt64)]) {
        guard marks.count > 1 else { return }
        if timed.lastEnd > 0 { timed.outside += marks[0].1 - timed.lastEnd }
        let names = marks.dropFirst().map(\.0)
        if timed.names != names { timed = (0, names, Array(repeating: 0, count: names.count), 0, 0) }
        for i in 1..<marks.count { timed.sums[i - 1] += marks[i].1 - marks[i - 1].1 }
        timed.steps += 1
        timed.lastEnd = marks[marks.count - 1].1
    }

    let context: CUDAContext
    /// Cache slots the lengths block holds.
    let slots: Int
    /// Byte offset of each input node's slot in `device`, by node index (the lengths sit at 0).
    let inputOffsets: [Int: Int]
    let bytes: Int
    /// [lens | inputs…] on the device, written once per step.
    let device: Storage
    /// Its pinned host twin (rewritten only after the stream is synchronized).
    private let host: UnsafeMutableRawPointer
    /// Per-node device buffers (attention ranges), by node index.
    var nodeBuffers: [Int: Storage] = [:]
    /// Slot lengths when the current step began.
    private var startLengths: [Int] = []
    /// Inputs already on this device, copied into their slots before the step's operations.
    private var deviceInputs: [(src: UInt64, dst: UInt64, bytes: Int)] = []
    private var exec: omni_CUgraphExec?
    /// The operations of the instantiated graph, and of the last step (the same where graphs are on).
    private var ops: [CUDAStreamOp] = []
    private var lastOps: [CUDAStreamOp] = []
    /// Input nodes (index, name, shape, dtype), and the vocabulary of the embedding each feeds, if any.
    let inputNodes: [(index: Int, name: String, shape: Shape, dtype: DType, vocab: Int?)]
    /// The last walk's shortcut (nil until a step completed), and the weights it was made with.
    private var lastShortcut: CUDAStepShortcut?
    private weak var shortcutWeights: AnyObject?
    /// Notes of the walk in progress.
    private(set) var spanNotes: [CUDAStepShortcut.Span] = []
    private(set) var commitNotes: [(slot: Int, rows: Int, width: Int)] = []
    /// Why this plan runs without graphs (nil while graphs are used).
    private(set) var graphOff: String?
    /// Steps replayed from an instantiated graph, and graphs captured.
    private(set) var replays = 0, captures = 0
    /// OMNI_CUDA_STEP_PROFILE=1: every step's operations timed one by one (CUDAStepProfile).
    private let profile: CUDAStepProfile?

    var lensAddress: UInt64 { device.deviceAddress }

    /// Slot `slot`'s length when the current step began (what the device reads at lens[slot]).
    func startLength(_ slot: Int) -> Int { slot < startLengths.count ? startLengths[slot] : 0 }

    /// Why `graph` cannot run in step mode, or nil.
    static func ineligible(_ graph: Graph) -> String? {
        var cached = false
        for node in graph.nodes {
            switch node.op {
            case .cachedAttention:
                cached = true
                if node.shape[0] > 4 { return "\(node.name): \(node.shape[0]) query rows (step mode takes ≤ 4)" }
            case .cacheWrite:
                cached = true
            case .attention:
                return "\(node.name): attention without a cache (its key ranges are uploaded per call)"
            case let .fused(f, _):
                if f.op.kernel(for: "cuda")?.source == nil { return "\(node.name): a fused op that runs host code" }
            default:
                break
            }
        }
        return cached ? nil : "no KV cache in the graph"
    }

    init(graph: Graph, slots: Int, context: CUDAContext, device dev: CUDADevice) throws {
        self.context = context
        self.slots = slots
        var offsets: [Int: Int] = [:]
        var top = (slots * 4 + 255) / 256 * 256
        for (i, node) in graph.nodes.enumerated() {
            guard case .input = node.op else { continue }
            offsets[i] = top
            let n = node.dtype.byteCount(elements: node.shape.elementCount) ?? node.shape.elementCount * 8
            top += (max(n, 1) + 255) / 256 * 256
        }
        inputOffsets = offsets
        bytes = top
        var vocab: [Int: Int] = [:]
        for node in graph.nodes {
            if case let .embedding(table, ids) = node.op { vocab[ids.index] = graph[table].shape[0] }
        }
        var inputs: [(index: Int, name: String, shape: Shape, dtype: DType, vocab: Int?)] = []
        for (i, node) in graph.nodes.enumerated() {
            if case let .input(name) = node.op {
                inputs.append((index: i, name: name, shape: node.shape, dtype: node.dtype, vocab: vocab[i]))
            }
        }
        inputNodes = inputs
        device = try dev.allocate(top, kind: .scratch)
        var p: UnsafeMutableRawPointer?
        try context.check(context.api.pointee.cuMemHostAlloc(&p, top, 0), "cuMemHostAlloc(\(top) bytes)")
        guard let p else { throw CUDALibrary.unavailable("pinned allocation returned nothing") }
        host = p
        profile = CUDAStepProfile.enabled ? CUDAStepProfile(context: context) : nil
        if CUDAStepProfile.enabled, profile == nil { Self.say("cuda: OMNI_CUDA_STEP_PROFILE=1 ignored: the driver has no event entry points") }
    }

    deinit {
        if Self.trace { Self.say("cuda: step plan done: \(captures) captured, \(replays) replayed\(graphOff.map { "; graphs off: " + $0 } ?? "")") }
        if Self.stepTimes, timed.steps > 1 {
            let n = Double(timed.steps), us = { (v: UInt64, k: Double) in String(format: "%.1f", Double(v) / 1000 / k) }
            let parts = zip(timed.names, timed.sums).map { "\($0) \(us($1, n))" }.joined(separator: ", ")
            Self.say("cuda: per replayed step (\(timed.steps)), µs: \(parts); outside the executor \(us(timed.outside, n - 1))")
        }
        if let report = profile?.report { Self.say(report) }
        _ = context.api.pointee.cuCtxSetCurrent(context.context)
        if let e = exec, let destroy = context.api.pointee.cuGraphExecDestroy { _ = destroy(e) }
        _ = context.api.pointee.cuMemFreeHost(host)
    }

    /// Starts a step: waits for the previous one's copies, writes the slot lengths into the staging buffer.
    func begin(cache: KVCache) throws {
        try context.synchronize()
        startLengths = cache.slotLengths
        let lens = host.assumingMemoryBound(to: Int32.self)
        for (s, n) in startLengths.enumerated() where s < slots { lens[s] = Int32(n) }
        deviceInputs = []
        spanNotes = []
        commitNotes = []
    }

    /// Notes a cached attention's span (the walk in progress).
    func noteSpan(_ span: CUDAStepShortcut.Span) { spanNotes.append(span) }
    /// Notes a cache write (the walk in progress).
    func noteCommit(slot: Int, rows: Int, width: Int) { commitNotes.append((slot: slot, rows: rows, width: width)) }

    static func cacheBuffers(_ cache: KVCache) -> [UInt64] {
        (0..<cache.slots).flatMap { [cache.keys($0).address, cache.values($0).address] }
    }

    /// Keeps what the walk that just finished established (its operations were issued).
    func keepShortcut(buffers: [UInt64], cache: KVCache, weights: AnyObject, results: [(name: String, tensor: Tensor)], log: [String]) {
        lastShortcut = CUDAStepShortcut(buffers: buffers, cacheBuffers: Self.cacheBuffers(cache), spans: spanNotes,
                                    commits: commitNotes, results: results, log: log)
        shortcutWeights = weights
    }

    /// The last walk's shortcut when this step (begun) would record the same operations.
    func shortcut(buffers: [UInt64], cache: KVCache, weights: AnyObject) -> CUDAStepShortcut? {
        guard let sc = lastShortcut, shortcutWeights === weights, sc.buffers == buffers,
              sc.cacheBuffers == Self.cacheBuffers(cache) else { return nil }
        for n in sc.spans where Self.keySpan(keys: startLength(n.slot) + n.delta, capacity: n.capacity) != n.span { return nil }
        return sc
    }

    /// Issues the last walk's operations again (the instantiated graph, where graphs are on).
    func replay(blas: CUDABlas) throws { try finish(lastOps, blas: blas) }

    /// Input node `index`'s slot on the device as a tensor of `shape`, filled from `t` at `finish`.
    func stage(_ t: Tensor, node index: Int, shape: Shape) throws -> Tensor {
        guard let off = inputOffsets[index] else {
            throw OmniError.invalidArgument(name: "input node \(index)", expected: "an input of the planned graph", actual: "none")
        }
        if t.device == context.info.id {
            deviceInputs.append((t.address, device.deviceAddress + UInt64(off), t.byteCount))
        } else {
            let h = t.contiguous()
            (host + off).copyMemory(from: h.rawPointer, byteCount: h.byteCount)
            withExtendedLifetime(h) {}
        }
        return Tensor(storage: device, byteOffset: off, shape: shape, dtype: t.dtype)
    }

    /// Uploads the staged lengths and inputs, then issues `newOps`: the instantiated graph when they equal the
    /// last step's, a new capture when not, or one by one where graphs are off.
    func finish(_ newOps: [CUDAStreamOp], blas: CUDABlas) throws {
        lastOps = newOps
        try context.uploadAsync(host, bytes: bytes, to: device.deviceAddress)
        for c in deviceInputs { try context.copy(from: c.src, to: c.dst, bytes: c.bytes) }
        if let profile { return try profile.issue(newOps) { try issue([$0], blas: blas) } }
        let f = context.api.pointee
        guard Self.graphsEnabled, graphOff == nil, let beginCapture = f.cuStreamBeginCapture, let endCapture = f.cuStreamEndCapture,
              let instantiate = f.cuGraphInstantiateWithFlags, let launch = f.cuGraphLaunch, let destroy = f.cuGraphDestroy,
              let destroyExec = f.cuGraphExecDestroy else {
            if graphOff == nil {
                graphOff = Self.graphsEnabled ? "the driver has no CUDA graph entry points" : "OMNI_CUDA_GRAPHS=0"
            }
            return try issue(newOps, blas: blas)
        }
        if let e = exec, newOps == ops {
            context.noteOtherWork(); try context.check(launch(e, context.stream), "cuGraphLaunch")
            replays += 1
            return
        }
        if let e = exec { _ = destroyExec(e); exec = nil; ops = [] }
        try context.check(beginCapture(context.stream, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */), "cuStreamBeginCapture")
        var failure: String?
        do { try issue(newOps, blas: blas) } catch { failure = "\(error)" }
        var graph: omni_CUgraph?
        let rc = endCapture(context.stream, &graph)
        if failure == nil, rc == 0, let g = graph {
            var e: omni_CUgraphExec?
            let irc = instantiate(&e, g, 0)
            _ = destroy(g)
            if irc == 0, let e {
                exec = e
                ops = newOps
                captures += 1
                if Self.trace { Self.say("cuda: decode step captured as a CUDA graph (\(newOps.count) operations)") }
                context.noteOtherWork(); try context.check(launch(e, context.stream), "cuGraphLaunch")
                return
            }
            failure = "cuGraphInstantiate error \(irc)"
        } else {
            if let g = graph { _ = destroy(g) }
            failure = failure ?? "cuStreamEndCapture error \(rc)"
        }
        graphOff = failure
        Self.say("cuda: decode step not captured as a CUDA graph (\(failure ?? "")); launching kernel by kernel")
        try issue(newOps, blas: blas)
    }

    static func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    /// Issues recorded operations on the stream.
    func issue(_ ops: [CUDAStreamOp], blas: CUDABlas) throws {
        for op in ops {
            switch op {
            case let .launch(fn, grid, block, shared, args, name):
                try context.issueLaunch(fn, grid: grid, block: block, shared: shared, args, name: name)
            case let .copy(src, dst, n):
                try context.copy(from: src, to: dst, bytes: n)
            case let .matmul(x, w, y, rows, inF, outF, type, outType, bias, ldy):
                try blas.issueMatmul(x: x, w: w, y: y, rows: rows, inF: inF, outF: outF, type: type, outType: outType, bias: bias,
                                     ldy: ldy)
            }
        }
    }

    /// The key span a step-mode attention over `keys` keys launches for: a power of two ≥ 256, at most `capacity`
    /// (the same span serves every token until the cache outgrows it).
    static func keySpan(keys: Int, capacity: Int) -> Int {
        var span = 256
        while span < keys { span *= 2 }
        return max(keys, min(span, capacity))
    }
}
