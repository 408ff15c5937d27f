@testable import DeviceCUDA
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The CUDA executor's fused groups (CUDAFusion.swift) against the shared planner, without a GPU: a fused kernel reads
/// every member's inputs while it writes every member's output, so no member's output may share memory with an input
/// of the group. The planner frees an input right after its last reader; the executor therefore plans with
/// `holdUntil` (each group's inputs held until its last node). Checked on the tiny thinker's prefill and decode graphs.
final class CUDAFusionPlanTests: XCTestCase {
    func graphs() throws -> [(String, Graph)] {
        let model = ThinkerTextModel(config: try OmniConfig.load(directory: Fixtures.tinyModel).thinker.text)
        return [("prefill 37", model.graph(.init(tokens: 37, lastLogitsOnly: true))),
                ("decode", model.graph(.init(tokens: 1, lastLogitsOnly: true)))]
    }

    /// Byte ranges of a group's outputs that overlap the activations it reads (produced outside the group).
    func overlaps(_ plan: ExecutionPlan, _ group: CUDAFusion.Group) -> [String] {
        let g = plan.graph, inside = Set(group.members)
        func range(_ i: Int) -> Range<Int>? {
            guard let off = plan.offsets[i], let size = g.nodes[i].dtype.byteCount(elements: g.nodes[i].shape.elementCount) else { return nil }
            return off..<(off + size)
        }
        var found: [String] = []
        for m in group.members {
            guard let w = range(m) else { continue }
            for m2 in group.members {
                for v in g.nodes[m2].op.inputs where !inside.contains(v.index) {
                    if let r = range(v.index), r.overlaps(w) { found.append("\(g.nodes[m].name) over \(g.nodes[v.index].name)") }
                }
            }
        }
        return found
    }

    func testEveryDecoderLayerFormsItsGroups() throws {
        for (label, g) in try graphs() {
            let layers = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.text.layers
            let groups = Array(CUDAFusion.groups(g).values)
            let count = { (k: CUDAFusion.Kind) in groups.filter { $0.kind == k }.count }
            // add → norm: each layer's attention residual and post-attention norm, and each layer's output and the next
            // layer's input norm (the last one's final norm).
            XCTAssertEqual(count(.addNorm), 2 * layers, label)
            // q and k RoPE with the cache write of that k (fused in a decode step; the RoPE pair alone otherwise).
            XCTAssertEqual(count(.ropeCache), layers, label)
            XCTAssertEqual(count(.rope2), 0, label)
            for grp in groups where grp.kind == .ropeCache {
                XCTAssertEqual(grp.members.map { g.nodes[$0].op.kind }, [.rope, .rope, .cacheWrite], label)
            }
            // q/k/v, and the MLP (gate, up, SwiGLU, down) whole.
            XCTAssertEqual(groups.filter { $0.kind == .linears && $0.members.count == 3 }.count, layers, label)
            XCTAssertEqual(count(.mlp), layers, label)
            for grp in groups where grp.kind == .mlp {
                XCTAssertEqual(grp.members.map { g.nodes[$0].op.kind }, [.linear, .linear, .swiglu, .linear], label)
            }
            XCTAssertEqual(count(.swigluLinear), 0, label)
            // A kept gate (read back after the run) needs its f32 values: that layer's MLP runs as gate/up, then
            // SwiGLU → down.
            let gate = try XCTUnwrap(g.nodes.first { $0.name.hasSuffix(".gate") }).name
            let kept = Array(CUDAFusion.groups(g, keep: [gate]).values)
            XCTAssertEqual(kept.filter { $0.kind == .mlp }.count, layers - 1, label)
            XCTAssertEqual(kept.filter { $0.kind == .swigluLinear }.count, 1, label)
            XCTAssertEqual(kept.filter { $0.kind == .linears && $0.members.count == 2 }.count, 1, label)
            // Members are distinct and groups do not share nodes.
            let all = groups.flatMap(\.members)
            XCTAssertEqual(Set(all).count, all.count, label)
        }
    }

    func testHeldInputsKeepGroupOutputsOffTheirInputs() throws {
        var plainOverlaps = 0
        for (label, g) in try graphs() {
            // SwiGLU → down runs as two launches in stream order (the SwiGLU pass has read gate and up before the GEMM
            // writes), so its inputs are not held: the down output may take the gate's memory.
            // A fused MLP reads x whole before it writes anything; its fallback holds x as its gate/up group does.
            let groups = CUDAFusion.groups(g).values.filter { $0.kind != .swigluLinear }.map {
                $0.kind == .mlp ? CUDAFusion.Group(kind: .linears, members: Array($0.members.prefix(2))) : $0
            }
            let held = ExecutionPlan(graph: g, holdUntil: CUDAFusion.holdUntil(g))
            for grp in groups { XCTAssertEqual(overlaps(held, grp), [], "\(label): \(grp.kind) at \(grp.members)") }
            let plain = ExecutionPlan(graph: g)
            plainOverlaps += groups.reduce(0) { $0 + overlaps(plain, $1).count }
            // Holding costs little memory: at most one hidden-state row block per group kind.
            XCTAssertLessThanOrEqual(held.arenaBytes, plain.arenaBytes * 3 / 2, label)
        }
        // Without holding, the planner does give some group output an input's memory (the race seen on the H200).
        XCTAssertGreaterThan(plainOverlaps, 0)
    }
}

/// SwiGLU written in place (the CUDA executor's plan): its output takes the gate's (or up's) memory, which dies with
/// it, and the arena shrinks by one [T, intermediate] block at the MLP's peak.
final class CUDAInPlacePlanTests: XCTestCase {
    func testSwiGLUTakesItsGateAndTheArenaShrinks() throws {
        // The tiny thinker with a wide MLP (as the 7B's, 5.3× the hidden size), so that the MLP is the peak.
        var config = try OmniConfig.load(directory: Fixtures.tinyModel).thinker.text
        config.intermediateSize = config.hiddenSize * 16
        let model = ThinkerTextModel(config: config)
        let g = model.graph(.init(tokens: 37, lastLogitsOnly: true, returnsHidden: false))
        let plan = CUDAExecutor.makePlan(g, keep: [])
        var swiglus = 0
        for (i, node) in g.nodes.enumerated() {
            guard case let .swiglu(gate, up) = node.op else { continue }
            swiglus += 1
            XCTAssertTrue(plan.offsets[i] == plan.offsets[gate.index] || plan.offsets[i] == plan.offsets[up.index], node.name)
        }
        XCTAssertEqual(swiglus, model.config.layers)
        let plain = ExecutionPlan(graph: g, holdUntil: CUDAFusion.enabled ? CUDAFusion.holdUntil(g) : [:])
        let block = 37 * model.config.intermediateSize * 4
        XCTAssertLessThanOrEqual(plan.arenaBytes, plain.arenaBytes - block + 64, "one [T, I] f32 block less at the peak")
        // The CPU's plan is unchanged by the option's default.
        XCTAssertEqual(ExecutionPlan(graph: g).offsets, ExecutionPlan(graph: g, inPlace: []).offsets)
    }
}
