import Foundation
import OmniCore

/// OMNI_CUDA_PROFILE=1: where a walked run's GPU time goes (prefill; decode steps recorded as CUDA graphs are not
/// walked node by node and are not profiled). The stream is synchronized before and after every kernel node, and the
/// wall time between is summed per op kind and node name with the layer number taken out (`linear thinker.L*.gate`),
/// then printed to stderr, largest first, when the run ends. The synchronizations cost a few µs a node: compare the
/// shares, not the total with an unprofiled run. A fused group's time goes to its last member.
struct CUDAProfile {
    static let enabled = ProcessInfo.processInfo.environment["OMNI_CUDA_PROFILE"] == "1"

    private let graph: Graph
    private var started = DispatchTime.now().uptimeNanoseconds
    private var rows: [String: (ns: UInt64, count: Int)] = [:]
    /// The run's entry, the start of the node walk (after arena and set-up) and its end (queued work done).
    private let runStarted: UInt64
    private let walkStarted = DispatchTime.now().uptimeNanoseconds
    private var walkEnded: UInt64 = 0

    init(graph: Graph, runStarted: UInt64) {
        self.graph = graph
        self.runStarted = runStarted
    }

    /// The walk is over: waits for its work and notes the time (what follows is reading results back).
    mutating func walked(_ context: CUDAContext) {
        try? context.synchronize()
        walkEnded = DispatchTime.now().uptimeNanoseconds
    }

    /// Waits for what was issued before the node.
    mutating func begin(_ context: CUDAContext) throws {
        try context.synchronize()
        started = DispatchTime.now().uptimeNanoseconds
    }

    /// Waits for node `i`'s kernels and books their time.
    mutating func end(node i: Int, _ context: CUDAContext) throws {
        try context.synchronize()
        let ns = DispatchTime.now().uptimeNanoseconds - started
        let node = graph.nodes[i]
        let key = "\(node.op.kind) \(Self.pattern(node.name)) \(node.shape) \(node.dtype)"
        rows[key, default: (0, 0)].ns += ns
        rows[key, default: (0, 0)].count += 1
    }

    /// `thinker.L12.gate` → `thinker.L*.gate`.
    static func pattern(_ name: String) -> String {
        name.replacingOccurrences(of: #"\.L[0-9]+\."#, with: ".L*.", options: .regularExpression)
    }

    /// The table on stderr.
    func report() {
        let total = rows.values.reduce(0) { $0 + $1.ns }
        guard total > 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds, ms = { (a: UInt64, b: UInt64) in Double(b &- a) / 1e6 }
        var text = String(format: "cuda profile: %.2f ms in %d kernel nodes (synchronized after each); run %.2f ms = set-up "
                          + "and inputs %.2f + node walk %.2f (host work between kernel nodes %.2f) + results %.2f\n",
                          Double(total) / 1e6, rows.values.reduce(0) { $0 + $1.count }, ms(runStarted, now),
                          ms(runStarted, walkStarted), ms(walkStarted, walkEnded),
                          ms(walkStarted, walkEnded) - Double(total) / 1e6, ms(walkEnded, now))
        for (key, v) in rows.sorted(by: { $0.value.ns > $1.value.ns }).prefix(40) {
            text += String(format: "  %9.3f ms %5.1f%% %5d× ", Double(v.ns) / 1e6, 100 * Double(v.ns) / Double(total), v.count) + key + "\n"
        }
        FileHandle.standardError.write(text.data(using: .utf8)!)
    }
}
