import Foundation
import OmniCore

/// Launches the executor fuses on the way (fewer, fatter kernels on the decode path): a residual `add` whose next
/// kernel node is the `rmsNorm` of its result runs as one `omni_add_rms_norm_f32`, and a `rope` whose next kernel
/// node is a `rope` at the same positions (q then k) as one `omni_rope2_f32`. Both compute every element as the
/// separate kernels do; the first node of a pair is held back until the second arrives (only weight nodes lie
/// between), and launched alone if it does not.
///
/// Off by default (OMNI_CUDA_FUSE=1 turns it on): the first version raced where the planner had given the second
/// node's output the memory of the first node's input (freed after the first node): the fused kernel then wrote rows
/// other blocks were still reading (fixture parity failed in prefill on the H200). A pair whose outputs overlap its
/// inputs is now launched as two kernels; that guard has not run on a GPU yet.
struct CUDAFusion {
    static let enabled = ProcessInfo.processInfo.environment["OMNI_CUDA_FUSE"] == "1"

    /// A node held back: its index, its call (inputs and output), and the kernel that runs it alone.
    private var held: (index: Int, call: CUDAKernelCall, alone: CUDAKernelTable.Kernel)?

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

    /// Whether node `i` opens a pair (it is then held).
    static func opensPair(_ g: Graph, _ i: Int, _ args: [Tensor]) -> Bool {
        guard enabled, let j = nextKernelNode(g, after: i) else { return false }
        switch (g.nodes[i].op, g.nodes[j].op) {
        case let (.add, .rmsNorm(x, _, _)):
            return x.index == i && args.count == 2 && args[0].elementCount == args[1].elementCount
                && g.nodes[i].dtype == .f32 && g.nodes[i].shape.rank >= 1
        case let (.rope(_, p1, _, hd1, t1, k1), .rope(x2, p2, _, hd2, t2, k2)):
            return p1 == p2 && hd1 == hd2 && t1 == t2 && k1 == k2 && x2.index != i
        default:
            return false
        }
    }

    /// Holds `call` (node `index`); it runs with the next kernel node, or alone through `alone`.
    mutating func hold(_ call: CUDAKernelCall, alone: @escaping CUDAKernelTable.Kernel) { held = (index: call.index, call: call, alone: alone) }

    /// Runs `call` fused with the held node when they pair; else runs the held node alone and returns false.
    mutating func closes(_ call: CUDAKernelCall) throws -> Bool {
        guard let h = held else { return false }
        held = nil
        let a = h.call
        // The fused kernel reads both nodes' inputs while writing both outputs: none may overlap.
        // (The add's result, which the norm reads, is the pair's own value.)
        let reads = a.inputs + call.inputs.filter { $0.address != a.out.address }, writes = [a.out, call.out]
        let disjoint = writes.allSatisfy { w in reads.allSatisfy { r in !Self.overlap(w, r) } }
        if disjoint { switch (a.node.op, call.node.op) {
        case let (.add, .rmsNorm(x, _, eps)) where x.index == h.index:
            let d = call.out.shape.dims.last ?? 1, rows = call.out.elementCount / max(d, 1)
            try call.module.launch("omni_add_rms_norm_f32", grid: rows, block: 256, [
                .ptr(a.inputs[0].address), .ptr(a.inputs[1].address), .ptr(a.out.address), .ptr(call.inputs[1].address),
                .ptr(call.out.address), .int(d), .f32(eps)])
            return true
        case let (.rope(_, _, h1, hd, theta, kind), .rope(_, _, h2, _, _, _)):
            let rows = a.out.shape[0], pos = a.inputs[1]
            let posRows: Int
            switch kind {
            case .standard, .interleaved: posRows = 1
            case .multimodal: posRows = 3
            case .axial2D: posRows = 2
            }
            guard pos.elementCount == posRows * rows, call.out.shape[0] == rows else { break }
            let table = try a.executor.ropeTable(headDim: hd, theta: theta, kind: kind)
            try call.module.launch("omni_rope2_f32", grid: CUDAModule.blocks(rows * (h1 + h2) * hd / 2), block: 256, [
                .ptr(a.inputs[0].address), .ptr(a.out.address), .int(h1), .ptr(call.inputs[0].address), .ptr(call.out.address),
                .int(h2), .ptr(pos.address), .ptr(table.inv.address), .ptr(table.rowOf.address), .int(rows), .int(hd),
                .int(kind == .interleaved ? 1 : 0)])
            return true
        default:
            break
        } }
        var alone = a
        try h.alone(&alone)
        return false
    }

    /// Whether two device tensors share bytes.
    static func overlap(_ x: Tensor, _ y: Tensor) -> Bool {
        guard x.byteCount > 0, y.byteCount > 0 else { return false }
        return x.address < y.address + UInt64(y.byteCount) && y.address < x.address + UInt64(x.byteCount)
    }

    /// Runs a node still held at the end of the walk.
    mutating func flush() throws {
        guard let h = held else { return }
        held = nil
        var alone = h.call
        try h.alone(&alone)
    }
}
