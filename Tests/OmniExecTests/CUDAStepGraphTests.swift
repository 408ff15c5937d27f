import BuiltinPlugins
@testable import DeviceCUDA
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
import XCTest

/// Decode as one CUDA graph per token (CUDAStepGraph.swift) and Q8_0-resident weights: the step mode against the CPU
/// executor where a GPU is present (skipped with the probe's reason elsewhere); the span and eligibility rules
/// everywhere.
final class CUDAStepGraphTests: XCTestCase {
    let registry = BuiltinPlugins.registry()
    let layers = 2, d = 32, heads = 4, kvHeads = 2

    func gpuExecutor(_ precision: ComputePrecision = .f32) throws -> CUDAExecutor {
        if case let .unavailable(reason) = CUDAPlugin().probe() { throw XCTSkip("no CUDA device: \(reason)") }
        return try CUDAExecutor(ordinal: 0, registry: registry, precision: precision, host: CPUDevice())
    }

    func stack(hd: Int) -> ToyAttentionStack { ToyAttentionStack(layers: layers, d: d, heads: heads, kvHeads: kvHeads, headDim: hd) }

    /// x [n, d] through `layers` residual blocks of cached attention (slot l) with head dim `hd`.
    func graph(_ n: Int, hd: Int) -> Graph { stack(hd: hd).graph(rows: n) }

    /// A prompt of 5 rows, then decode steps through one bucketed plan (step mode: recorded, captured once, replayed)
    /// must match the CPU executor step by step, for eager and flash_attention_2 (its split-K kernel at head dim 64, its
    /// generic one at 8).
    func testDecodeStepsReplayedAsOneGraphMatchTheCPU() throws {
        try checkAgainstCPU(precision: .f32, bound: 1e-5, seed: 5)
    }

    /// The bf16 mode keeps its KV cache in bf16 (half the bytes): prefill (tensor-core flash at head dim 64, K/V widened
    /// for eager and the f32 kernel) and decode steps replayed as one graph (split-K over bf16 rows) stay within the
    /// bf16 parity bound (2e-2 of max|reference|) of the CPU's f32 run, step by step.
    func testTheBF16ModesCacheIsBF16AndMatchesTheCPUWithinItsBound() throws {
        try checkAgainstCPU(precision: .bf16, bound: 2e-2, seed: 6)
    }

    /// Prefill then decode on the GPU in `precision` (its cache in the executor's `cacheDType`) against the CPU in f32,
    /// per head dim and attention backend, the prefill and every step within `bound`; one graph captured per executor.
    func checkAgainstCPU(precision: ComputePrecision, bound: Float, seed: UInt64) throws {
        for hd in [8, 64] {
            for backend in ["eager", "flash_attention_2"] {
                let label = "\(precision), head dim \(hd), \(backend)"
                let gpu = try gpuExecutor(precision)
                XCTAssertEqual(gpu.cacheDType, precision == .bf16 ? .bf16 : .f32, label)
                let cpu = Executor(registry: registry, threads: 2)
                let st = stack(hd: hd)
                var rng = SeededGenerator(seed: seed)
                let w = st.weights(&rng)
                let t = 12, prompt = 5
                let x = (0..<(t * d)).map { _ in rng.normal() }
                func rows(_ r: Range<Int>) -> Tensor { Tensor(Array(x[(r.lowerBound * d)..<(r.upperBound * d)]), shape: [r.count, d]) }
                func graph(_ n: Int) -> Graph {
                    st.graph(rows: n) { g, l, q, k, v in
                        g.attention(q: q, k: k, v: v, spec: st.spec(layer: l, cached: true, backendChain: [backend]), name: "L\(l).attn")
                    }
                }
                let gCache = try KVCache(slots: layers, capacity: 300, rowWidth: kvHeads * hd, device: gpu.device, dtype: gpu.cacheDType)
                let cCache = try KVCache(slots: layers, capacity: 300, rowWidth: kvHeads * hd, device: cpu.device)
                XCTAssertEqual(gCache.byteCount * (precision == .bf16 ? 2 : 1), cCache.byteCount, label)
                let a0 = try gpu.run(graph(prompt), bucket: nil, inputs: ["x": rows(0..<prompt)], weights: w, cache: gCache, keep: [])[st.output]!.floats()
                let b0 = try cpu.run(graph(prompt), bucket: nil, inputs: ["x": rows(0..<prompt)], weights: w, cache: cCache, keep: [])[st.output]!.floats()
                XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(a0, b0), bound, "\(label), prefill")
                let step = graph(1)
                for i in prompt..<t {
                    let a = try gpu.run(step, bucket: "decode", inputs: ["x": rows(i..<(i + 1))], weights: w, cache: gCache, keep: [])[st.output]!.floats()
                    let b = try cpu.run(step, bucket: "decode", inputs: ["x": rows(i..<(i + 1))], weights: w, cache: cCache, keep: [])[st.output]!.floats()
                    XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(a, b), bound, "\(label), step \(i)")
                    XCTAssertEqual(gCache.length(of: 1), i + 1, label)
                }
                if CUDAStepState.graphsEnabled {
                    XCTAssertEqual(gpu.stepGraphReport, "CUDA graphs: 1 captured, \(t - prompt - 1) replayed", label)
                } else {
                    XCTAssertTrue(gpu.stepGraphReport.contains("OMNI_CUDA_GRAPHS=0"), gpu.stepGraphReport)
                }
            }
        }
    }

    /// Q8_0 weights in the bf16 mode stay Q8_0 on the GPU: the GEMV (≤ 8 rows) and the widened GEMM (more rows) match
    /// the CPU's f32 linear over the same (widened) values.
    func testQ8_0ResidentLinearMatchesTheCPU() throws {
        let gpu = try gpuExecutor(.bf16)
        let cpu = Executor(registry: registry, threads: 2)
        var rng = SeededGenerator(seed: 9)
        let (n, k) = (96, 128)
        let wf = Tensor((0..<(n * k)).map { _ in rng.normal() * 0.2 }, shape: [n, k])
        let q8 = Tensor(zeros: [n, k], dtype: .q8_0)
        try registry.converter(from: .f32, to: .q8_0).convert(wf.rawPointer, from: .f32, to: q8.mutableRawPointer, .q8_0, count: n * k)
        let w = InMemoryWeights(["w": q8])
        // The oracle: the same Q8_0 values widened to f32, on the CPU in f32.
        let wide = Tensor(zeros: [n, k], dtype: .f32)
        try registry.converter(from: .q8_0, to: .f32).convert(q8.rawPointer, from: .q8_0, to: wide.mutableRawPointer, .f32, count: n * k)
        let wOracle = InMemoryWeights(["w": wide])
        for rows in [1, 3, 12] {
            var g = Graph()
            g.markOutput(g.linear(g.input("x", shape: [rows, k]), g.weight("w", shape: [n, k]), name: "y"))
            let x = Tensor((0..<(rows * k)).map { _ in rng.normal() }, shape: [rows, k])
            let a = try gpu.run(g, bucket: nil, inputs: ["x": x], weights: w, cache: nil, keep: [])["y"]!.floats()
            let b = try cpu.run(g, bucket: nil, inputs: ["x": x], weights: wOracle, cache: nil, keep: [])["y"]!.floats()
            // ≤ 8 rows: the GEMV, by default over activations quantized per 32 by dp4a (the CPU's Q8_0 rule, 2e-2),
            // exact f32 activations with OMNI_CUDA_Q8_DP4A=0 (1e-5); more: bf16 activations (the GEMM path).
            let bound: Float = rows > 8 || CUDAKernels.q8ByDP4A ? 2e-2 : 1e-5
            XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(a, b), bound, "rows \(rows)")
        }
        XCTAssertEqual(gpu.memoryReport().current[.weights], n * k / 32 * 34, "the weight stays Q8_0 on the GPU")
    }

    func testTheKeySpanIsAPowerOfTwoCappedByTheCache() {
        XCTAssertEqual(CUDAStepState.keySpan(keys: 1, capacity: 4096), 256)
        XCTAssertEqual(CUDAStepState.keySpan(keys: 256, capacity: 4096), 256)
        XCTAssertEqual(CUDAStepState.keySpan(keys: 257, capacity: 4096), 512)
        XCTAssertEqual(CUDAStepState.keySpan(keys: 100, capacity: 128), 128)
        XCTAssertEqual(CUDAStepState.keySpan(keys: 128, capacity: 128), 128)
    }

    func testOnlyCachedGraphsOfFewRowsRunInStepMode() {
        XCTAssertNil(CUDAStepState.ineligible(graph(1, hd: 8)))
        XCTAssertNotNil(CUDAStepState.ineligible(graph(5, hd: 8)), "5 query rows")
        var g = Graph()
        g.markOutput(g.linear(g.input("x", shape: [1, 4]), g.weight("w", shape: [4, 4]), name: "y"))
        XCTAssertEqual(CUDAStepState.ineligible(g), "no KV cache in the graph")
    }
}
