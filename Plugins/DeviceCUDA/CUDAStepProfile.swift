import CCUDA
import Foundation

/// OMNI_CUDA_STEP_PROFILE=1: where a decode step's GPU time goes, operation by operation. Each step's recorded
/// operations are issued one by one (no CUDA graph) with a CUDA event after each; the GPU time between consecutive
/// events is booked to the operation (kernel name and grid, device copy, cuBLASLt matmul), and a table is printed
/// on stderr when the plan's step state goes: the operations of the first `detail` positions of a step in order (one
/// layer and what precedes it) and every kind summed, in µs per step. Unlike a profiler's replay (each kernel alone,
/// caches flushed, the GPU idle in between), the kernels run back to back as in a step; but an event between every
/// two launches turns dependent launches off and adds the gaps a graph would hide, so compare the shares, not the
/// total, with a normal run.
final class CUDAStepProfile {
    static let enabled = ProcessInfo.processInfo.environment["OMNI_CUDA_STEP_PROFILE"] == "1"
    static let detail = 12

    private let context: CUDAContext
    /// The driver's entry points (the event ones checked present at init).
    private let f: omni_cuda_api
    private var events: [omni_CUevent?] = []
    private var byKind: [String: (us: Double, count: Int)] = [:]
    private var byPosition: [(name: String, us: Double)] = []
    private var steps = 0

    /// Nil where the driver lacks the event entry points.
    init?(context: CUDAContext) {
        let f = context.api.pointee
        guard f.cuEventCreate != nil, f.cuEventRecord != nil, f.cuEventSynchronize != nil, f.cuEventElapsedTime != nil,
              f.cuEventDestroy != nil else { return nil }
        self.context = context
        self.f = f
    }

    deinit { for e in events { _ = f.cuEventDestroy!(e) } }

    static func name(_ op: CUDAStreamOp) -> String {
        switch op {
        case let .launch(_, grid, _, _, _, name): return "\(name) [grid \(grid)]"
        case let .copy(_, _, bytes): return "device copy (\(bytes) B)"
        case let .matmul(_, _, _, rows, inF, outF, _, _, _, _): return "cuBLASLt matmul \(rows)×\(inF)→\(outF)"
        }
    }

    /// Issues `ops` through `issueOne` with an event before the first and after each, waits for the last, and books
    /// the times.
    func issue(_ ops: [CUDAStreamOp], _ issueOne: (CUDAStreamOp) throws -> Void) throws {
        while events.count < ops.count + 1 {
            var e: omni_CUevent?
            try context.check(f.cuEventCreate!(&e, 0), "cuEventCreate")
            events.append(e)
        }
        try context.check(f.cuEventRecord!(events[0], context.stream), "cuEventRecord")
        for (i, op) in ops.enumerated() {
            try issueOne(op)
            try context.check(f.cuEventRecord!(events[i + 1], context.stream), "cuEventRecord")
            context.noteOtherWork()
        }
        try context.check(f.cuEventSynchronize!(events[ops.count]), "cuEventSynchronize")
        for (i, op) in ops.enumerated() {
            var ms: Float = 0
            try context.check(f.cuEventElapsedTime!(&ms, events[i], events[i + 1]), "cuEventElapsedTime")
            let name = Self.name(op), us = Double(ms) * 1000
            byKind[name, default: (0, 0)].us += us
            byKind[name, default: (0, 0)].count += 1
            if i < Self.detail {
                if byPosition.count <= i { byPosition.append((name, 0)) }
                byPosition[i].us += us
            }
        }
        steps += 1
    }

    /// The table, per step (nil before a step was profiled).
    var report: String? {
        guard steps > 0 else { return nil }
        let n = Double(steps), total = byKind.values.reduce(0) { $0 + $1.us } / n
        var lines = ["cuda: step profile over \(steps) steps (ops issued one by one with events between; µs a step):"]
        lines.append("  first \(byPosition.count) operations in order:")
        for p in byPosition { lines.append(String(format: "    %8.1f  ", p.us / n) + p.name) }
        lines.append(String(format: "  by operation (%.1f µs a step in all):", total))
        for (k, v) in byKind.sorted(by: { $0.value.us > $1.value.us }) {
            lines.append(String(format: "    %8.1f  %5.1f%%  %4d a step, %6.2f µs each  ", v.us / n, 100 * v.us / n / total,
                                Int((Double(v.count) / n).rounded()), v.us / Double(v.count)) + k)
        }
        return lines.joined(separator: "\n")
    }
}
