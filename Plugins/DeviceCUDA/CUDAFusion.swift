import Foundation
import OmniCore

/// Groups of consecutive nodes the executor runs as one kernel on the way (fewer, fatter launches on the decode path):
/// - a residual `add` whose next kernel node is the `rmsNorm` of its result: one `omni_add_rms_norm_f32`;
/// - a `rope` whose next kernel node is a `rope` at the same positions (q then k): one `omni_rope2_f32`; in a decode
///   step, when the next kernel node writes that k and a v into the cache, the cache write joins the same launch
///   (`omni_rope2_cache_dyn`; OMNI_CUDA_ROPE_CACHE=0 keeps it a launch of its own);
/// - two or three `linear`s over the same activations with stored weights (q/k/v, gate/up): with ≤ 8 rows and bf16
///   or Q8_0-resident weights of one kind, one `omni_gemv3_*` launch (CUDAKernels+Gemv); with more rows and bf16
///   weights, the activations rounded to bf16 once for all the GEMMs instead of once per GEMM;
/// - a `swiglu` whose next kernel node is the `linear` reading it (down), with more than 8 rows and a bf16 weight:
///   `omni_swiglu_bf16` writes the GEMM's bf16 input directly (no f32 SwiGLU output, no separate rounding pass);
/// - a whole MLP (gate and up linears, the SwiGLU of exactly those, down) whose gate, up and SwiGLU values nothing
///   else reads: with more than 8 rows and bf16 weights, bf16 intermediates (`CUDAKernels.mlpGemm`: the gate and up
///   GEMMs round their outputs to bf16 once, as transformers' bf16 linears do, so this one is not bit-identical to
///   the f32 path but within the bf16 mode's bound); with ≤ 8 rows and bf16 weights, gate, up and SwiGLU as one
///   GEMV launch (`CUDAKernels.gemvSwiGLU`, bit-identical), then down; otherwise its linears and its SwiGLU → down
///   as the two groups above.
/// The other fused kernels compute every element as the separate kernels do (same arithmetic in the same order), so
/// the results are bit-identical. The group's first nodes are held until its last arrives (only weight and input nodes
/// lie between members); a group that cannot run fused (shapes, dtypes, rows) runs node by node.
///
/// Memory: a fused kernel reads every member's inputs while it writes every member's output, but the shared planner
/// frees an input right after its last reader, so a later member's output could be given an earlier member's input
/// (the first version raced that way on the H200). `holdUntil(_:)` tells the planner to keep each group's inputs alive
/// until the group's last node (`ExecutionPlan(graph:keep:holdUntil:)`); a group whose outputs still overlap its
/// inputs (a plan made without it) runs node by node. On by default; OMNI_CUDA_FUSE=0 turns it off.
struct CUDAFusion {
    static let enabled = ProcessInfo.processInfo.environment["OMNI_CUDA_FUSE"] != "0"
    /// Decode's gate, up and SwiGLU as one GEMV launch (on by default; OMNI_CUDA_SWIGLU_GEMV=0 runs the gate/up
    /// group and the SwiGLU as two launches).
    static let swigluGemv = ProcessInfo.processInfo.environment["OMNI_CUDA_SWIGLU_GEMV"] != "0"
    /// A decode step's q/k RoPE and cache write as one launch (on by default; OMNI_CUDA_ROPE_CACHE=0: two).
    static let ropeCache = ProcessInfo.processInfo.environment["OMNI_CUDA_ROPE_CACHE"] != "0"

    /// What a group computes.
    enum Kind: Equatable { case addNorm, rope2, ropeCache, linears, swigluLinear, mlp }

    /// A group: its kind and member node indices, in graph order.
    struct Group: Equatable {
        let kind: Kind
        let members: [Int]
    }

    /// The groups of `g`, keyed by their first member; an MLP whose gate, up or SwiGLU value is a graph output, is in
    /// `keep` or has a reader outside the group is split into its linears and its SwiGLU → down.
    static func groups(_ g: Graph, keep: Set<String> = []) -> [Int: Group] {
        var out: [Int: Group] = [:]
        var readers: [Int: Int] = [:]
        for n in g.nodes { for v in n.op.inputs { readers[v.index, default: 0] += 1 } }
        let outputs = Set(g.outputs.map(\.index))
        var i = 0
        while i < g.nodes.count {
            guard let grp = group(g, at: i) else { i += 1; continue }
            if grp.kind == .mlp {
                let m = grp.members
                // gate and up read once each (by the SwiGLU), the SwiGLU once (by down); none kept or an output.
                let sealed = [m[0], m[1], m[2]].allSatisfy { v in
                    readers[v] == 1 && !outputs.contains(v) && !keep.contains(g.nodes[v].name)
                }
                if !sealed {
                    out[m[0]] = Group(kind: .linears, members: [m[0], m[1]])
                    out[m[2]] = Group(kind: .swigluLinear, members: [m[2], m[3]])
                    i = m[3] + 1
                    continue
                }
            }
            out[i] = grp
            i = grp.members.last! + 1
        }
        return out
    }

    /// For the planner: every activation a group reads that the group does not produce → the group's last node.
    static func holdUntil(_ g: Graph) -> [Int: Int] {
        var out: [Int: Int] = [:]
        // swigluLinear runs as two launches in stream order (the SwiGLU pass has read its inputs before the GEMM
        // writes): its inputs need no holding.
        for whole in groups(g).values where whole.kind != .swigluLinear {
            // An MLP reads x once at its start when fused; its linears hold x as their own group does (the fallback).
            let grp = whole.kind == .mlp ? Group(kind: .linears, members: Array(whole.members.prefix(2))) : whole
            let last = grp.members.last!, inside = Set(grp.members)
            for m in grp.members {
                for v in g.nodes[m].op.inputs where !inside.contains(v.index) {
                    switch g.nodes[v.index].op {
                    case .weight, .input: continue
                    default: out[v.index] = max(out[v.index] ?? 0, last)
                    }
                }
            }
        }
        return out
    }

    /// The next node after `i` that is not a weight or input (a kernel node), if any.
    static func nextKernelNode(_ g: Graph, after i: Int) -> Int? {
        var k = i + 1
        while k < g.nodes.count {
            switch g.nodes[k].op {
            case .weight, .input: k += 1
            default: return k
            }
        }
        return nil
    }

    /// The group that node `i` opens, if any.
    static func group(_ g: Graph, at i: Int) -> Group? {
        guard let j = nextKernelNode(g, after: i) else { return nil }
        switch (g.nodes[i].op, g.nodes[j].op) {
        case let (.add(a, b), .rmsNorm(x, _, _)):
            guard x.index == i, g[a].shape.elementCount == g[b].shape.elementCount, g.nodes[i].dtype == .f32,
                  g.nodes[i].shape.rank >= 1 else { return nil }
            return Group(kind: .addNorm, members: [i, j])
        case let (.rope(_, p1, _, hd1, t1, k1), .rope(x2, p2, _, hd2, t2, k2)):
            guard p1 == p2, hd1 == hd2, t1 == t2, k1 == k2, x2.index != i else { return nil }
            if let k = nextKernelNode(g, after: j), case let .cacheWrite(kw, _, _) = g.nodes[k].op, kw.index == j {
                return Group(kind: .ropeCache, members: [i, j, k])
            }
            return Group(kind: .rope2, members: [i, j])
        case let (.linear(x, w, _), .linear(x2, w2, _)):
            guard x == x2, storedWeight(g, w), storedWeight(g, w2) else { return nil }
            var members = [i, j]
            if let k = nextKernelNode(g, after: j), case let .linear(x3, w3, _) = g.nodes[k].op, x3 == x, storedWeight(g, w3) {
                members.append(k)
            } else if let k = nextKernelNode(g, after: j), case let .swiglu(gate, up) = g.nodes[k].op, gate.index == i,
                      up.index == j, let l = nextKernelNode(g, after: k), case let .linear(a, wd, _) = g.nodes[l].op,
                      a.index == k, storedWeight(g, wd) {
                return Group(kind: .mlp, members: [i, j, k, l])
            }
            return Group(kind: .linears, members: members)
        case let (.swiglu, .linear(x, w, _)):
            guard x.index == i, storedWeight(g, w) else { return nil }
            return Group(kind: .swigluLinear, members: [i, j])
        default:
            return nil
        }
    }

    /// Whether `w` is a weight node (the GEMV reads it in place).
    private static func storedWeight(_ g: Graph, _ w: ValueID) -> Bool {
        if case .weight = g[w].op { return true }
        return false
    }

    /// The groups of the graph being walked.
    private let groups: [Int: Group]
    /// The members held so far, with the kernels that run them alone.
    private var held: [(call: CUDAKernelCall, alone: CUDAKernelTable.Kernel)] = []
    private var open: Group?

    /// Fusion for a walk of `g` whose `keep` names are read back (no groups when off).
    init(_ g: Graph, keep: Set<String> = []) { groups = Self.enabled ? Self.groups(g, keep: keep) : [:] }

    /// Takes `call` when it belongs to a group: held until the group is complete, then run (fused, or node by node).
    /// Returns false when the call is not a member (the caller runs it); a pending group is flushed first.
    mutating func take(_ call: CUDAKernelCall, alone: @escaping CUDAKernelTable.Kernel) throws -> Bool {
        if let grp = open {
            if grp.members[held.count] == call.index {
                held.append((call, alone))
                if held.count < grp.members.count { return true }
                try run(grp)
                return true
            }
            try flush()
        }
        guard let grp = groups[call.index] else { return false }
        open = grp
        held = [(call, alone)]
        return true
    }

    /// Runs a group still held at the end of the walk (or interrupted) node by node.
    mutating func flush() throws {
        let calls = held
        held = []
        open = nil
        for h in calls {
            var c = h.call
            try h.alone(&c)
        }
    }

    private mutating func run(_ grp: Group) throws {
        let all = held
        held = []
        open = nil
        if grp.kind == .mlp {
            let calls = all.map(\.call)
            if try CUDAKernels.mlpGemm(calls) { return }
            if Self.swigluGemv, try CUDAKernels.gemvSwiGLU(calls) {
                var down = all[3].call
                try all[3].alone(&down)
                return
            }
            try Self.run(.linears, Array(all.prefix(2)))
            try Self.run(.swigluLinear, Array(all.suffix(2)))
            return
        }
        if grp.kind == .ropeCache {
            // Fused only in a decode step (the row is read on the device); otherwise the RoPE pair, then the write.
            if Self.ropeCache, all[2].call.executor.step != nil, Self.disjoint(all.map(\.call)), try Self.fused(.ropeCache, all.map(\.call)) {
                return
            }
            try Self.run(.rope2, Array(all.prefix(2)))
            var write = all[2].call
            try all[2].alone(&write)
            return
        }
        try Self.run(grp.kind, all)
    }

    /// Runs held members fused when they fit, otherwise one by one.
    private static func run(_ kind: Kind, _ members: [(call: CUDAKernelCall, alone: CUDAKernelTable.Kernel)]) throws {
        let calls = members.map(\.call)
        if kind == .swigluLinear || disjoint(calls), try fused(kind, calls) { return }
        for h in members {
            var c = h.call
            try h.alone(&c)
        }
    }

    /// Whether no output of the group overlaps an input it reads (inputs produced inside the group are its own).
    static func disjoint(_ calls: [CUDAKernelCall]) -> Bool {
        let inside = Set(calls.map(\.index))
        var reads: [Tensor] = []
        for c in calls {
            for (v, t) in zip(c.node.op.inputs, c.inputs) where !inside.contains(v.index) { reads.append(t) }
        }
        let writes = calls.map(\.out)
        return writes.allSatisfy { w in reads.allSatisfy { r in !overlap(w, r) } }
    }

    /// Launches the fused kernel; false when the group's tensors do not fit it (then it runs node by node).
    private static func fused(_ kind: Kind, _ calls: [CUDAKernelCall]) throws -> Bool {
        switch kind {
        case .addNorm:
            let a = calls[0], n = calls[1]
            guard case let .rmsNorm(_, _, eps) = n.node.op else { return false }
            let d = n.out.shape.dims.last ?? 1, rows = n.out.elementCount / max(d, 1)
            try n.module.launch("omni_add_rms_norm_f32", grid: rows, block: 256, [
                .ptr(a.inputs[0].address), .ptr(a.inputs[1].address), .ptr(a.out.address), .ptr(n.inputs[1].address),
                .ptr(n.out.address), .int(d), .f32(eps), .int(CUDAKernels.normInRegisters ? 1 : 0)])
            return true
        case .rope2:
            guard let r = try rope2Launch(calls[0], calls[1]) else { return false }
            try calls[1].module.launch("omni_rope2_f32", grid: r.grid, block: 256, r.args)
            return true
        case .ropeCache:
            let w = calls[2]
            guard let step = w.executor.step, let cache = w.cache, case let .cacheWrite(_, _, slot) = w.node.op,
                  cache.dtype == .f32 || cache.dtype == .bf16, let r = try rope2Launch(calls[0], calls[1]) else { return false }
            let k = w.inputs[0], v = w.inputs[1], rows = k.shape[0], width = k.shape[1]
            guard k.address == calls[1].out.address, k.shape == calls[1].out.shape, v.shape == k.shape,
                  cache.rowWidth == width else { return false }
            let start = cache.length(of: slot)
            try cache.checkAppend(slot: slot, rows: rows, width: width)
            try w.module.launch(cache.dtype == .bf16 ? "omni_rope2_cache_dyn_bf16" : "omni_rope2_cache_dyn",
                                grid: max(r.grid, CUDAModule.blocks(rows * width)), block: 256, r.args + [
                .ptr(v.address), .ptr(cache.keys(slot).address), .ptr(cache.values(slot).address), .ptr(step.lensAddress),
                .int(slot), .int(start - step.startLength(slot))])
            step.noteCommit(slot: slot, rows: rows, width: width)
            cache.commit(slot: slot, count: rows)
            return true
        case .linears:
            return try CUDAKernels.gemvMany(calls) || CUDAKernels.gemmMany(calls)
        case .swigluLinear:
            return try CUDAKernels.swigluGemm(calls[0], calls[1])
        case .mlp:
            return try CUDAKernels.mlpGemm(calls)
        }
    }

    /// The grid and arguments of `omni_rope2_f32` for q (`a`) and k (`b`), the leading arguments of the
    /// rope-and-cache kernels too; nil when the pair does not fit it.
    private static func rope2Launch(_ a: CUDAKernelCall, _ b: CUDAKernelCall) throws -> (grid: Int, args: [CUDAArg])? {
        guard case let .rope(_, _, h1, hd, theta, kind) = a.node.op, case let .rope(_, _, h2, _, _, _) = b.node.op else { return nil }
        let rows = a.out.shape[0], pos = a.inputs[1]
        guard pos.elementCount == kind.positionRows * rows, b.out.shape[0] == rows else { return nil }
        let table = try a.executor.ropeTable(headDim: hd, theta: theta, kind: kind)
        return (CUDAModule.blocks(rows * (h1 + h2) * hd / 2), [
            .ptr(a.inputs[0].address), .ptr(a.out.address), .int(h1), .ptr(b.inputs[0].address), .ptr(b.out.address),
            .int(h2), .ptr(pos.address), .ptr(table.inv.address), .ptr(table.rowOf.address), .int(rows), .int(hd),
            .int(kind == .interleaved ? 1 : 0)])
    }

    /// Whether two device tensors share bytes.
    static func overlap(_ x: Tensor, _ y: Tensor) -> Bool {
        guard x.byteCount > 0, y.byteCount > 0 else { return false }
        return x.address < y.address + UInt64(y.byteCount) && y.address < x.address + UInt64(x.byteCount)
    }
}
