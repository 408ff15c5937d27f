import BuiltinPlugins
import CKernels
import Foundation
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The prefill-side kernels (many rows): the blocked GEMM of `linear` with its fused bias, GELU, LayerNorm.
final class PrefillKernelTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    func random(_ n: Int, _ rng: inout SeededGenerator, scale: Float = 1) -> [Float] {
        (0..<n).map { _ in rng.normal() * scale }
    }

    /// y = x · wᵀ + b in Double.
    func reference(_ x: [Float], _ w: [Float], _ b: [Float], t: Int, inF: Int, outF: Int) -> [Float] {
        var y = [Float](repeating: 0, count: t * outF)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
            for r in 0..<t { for o in 0..<outF {
                var s = Double(b[o])
                for i in 0..<inF { s += Double(xp[r * inF + i]) * Double(wp[o * inF + i]) }
                y[r * outF + o] = Float(s)
            } }
        } }
        return y
    }

    /// A weight of `dtype` and the f32 values it holds.
    func weight(_ w: [Float], shape: Shape, dtype: DType) throws -> (Tensor, [Float]) {
        let f = Tensor(w, shape: shape)
        if dtype == .f32 { return (f, w) }
        let t = Tensor(zeros: shape, dtype: dtype)
        try registry.converter(from: .f32, to: dtype).convert(f.rawPointer, from: .f32, to: t.mutableRawPointer, dtype, count: w.count)
        let back = Tensor(zeros: shape)
        try registry.converter(from: dtype, to: .f32).convert(t.rawPointer, from: dtype, to: back.mutableRawPointer, .f32, count: w.count)
        return (t, try back.floats())
    }

    /// A weight of more than `gemmPanelFloats` elements is widened in several blocks, more blocks than threads (so
    /// scratch slots are reused), with uneven block widths; the bias is fused into the GEMM. 1, 2 and 3 threads.
    func testBlockedGEMMWithBiasMatchesReferenceForWidenedAndF32Weights() throws {
        var rng = SeededGenerator(seed: 16)
        // More rows than the small-batch path takes (≤ Kernels.smallBatchRows), so the GEMM path runs.
        let t = Kernels.smallBatchRows + 4, inF = 1024, outF = 4112
        XCTAssertGreaterThan(outF * inF, Kernels.gemmPanelFloats, "the case must need several widened blocks")
        let x = random(t * inF, &rng), b = random(outF, &rng)
        let raw = random(outF * inF, &rng, scale: 0.05)
        for dtype in [DType.bf16, .q8_0, .f32] {
            let (w, values) = try weight(raw, shape: [outF, inF], dtype: dtype)
            let want = reference(x, values, b, t: t, inF: inF, outF: outF)
            for threads in [1, 2, 3] {
                var g = Graph()
                let y = g.linear(g.input("x", shape: [t, inF]), g.weight("w", shape: [outF, inF]),
                                 bias: g.weight("b", shape: [outF]), name: "y")
                g.markOutput(y)
                let exec = Executor(registry: registry, threads: threads)
                let r = try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, inF])],
                                     weights: InMemoryWeights(["w": w, "b": Tensor(b, shape: [outF])]))
                XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(try r["y"]!.floats(), want), 1e-5, "\(dtype), \(threads) threads")
            }
        }
    }

    /// GELU (erf and tanh forms) over a wide range, tails included, against Double; lengths that leave a remainder.
    func testGELUMatchesDoubleReferenceAcrossRange() {
        let n = 4099
        let x = (0..<n).map { Float($0 - n / 2) / Float(n / 2) * 12 }   // −12 … 12
        var y = [Float](repeating: 0, count: n)
        for tanhForm in [false, true] {
            omni_gelu(x, &y, n, tanhForm ? 1 : 0)
            for i in 0..<n {
                let v = Double(x[i])
                let want = tanhForm ? 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
                                    : 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                XCTAssertEqual(Double(y[i]), want, accuracy: 1e-6 * max(1, abs(v)), "gelu(\(v)) tanh=\(tanhForm)")
            }
        }
    }

    /// LayerNorm rows (with and without affine) against Double, on a row with a large offset (two passes keep the
    /// variance exact where one pass would cancel).
    func testLayerNormRowMatchesDoubleReference() {
        var rng = SeededGenerator(seed: 3)
        for n in [1, 7, 16, 1280, 1283] {
            let x = random(n, &rng).map { $0 + 1000 }, w = random(n, &rng), b = random(n, &rng)
            let xs = x.map(Double.init), mean = xs.reduce(0, +) / Double(n)
            let inv = 1 / (xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n) + 1e-5).squareRoot()
            var y = [Float](repeating: 0, count: n)
            omni_layernorm_row(x, w, b, &y, n, 1e-5)
            for i in 0..<n { XCTAssertEqual(Double(y[i]), (xs[i] - mean) * inv * Double(w[i]) + Double(b[i]), accuracy: 2e-4 * max(1, abs(Double(w[i])))) }
            omni_layernorm_row(x, nil, nil, &y, n, 1e-5)
            for i in 0..<n { XCTAssertEqual(Double(y[i]), (xs[i] - mean) * inv, accuracy: 2e-4) }
        }
    }
}
