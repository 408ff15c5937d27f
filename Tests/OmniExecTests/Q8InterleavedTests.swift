import BuiltinPlugins
import CKernels
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// Q8_0 and Q4_0 weights bound with their rows interleaved by 8 (`TensorLayout.q8_0Rows8` / `.q4_0Rows8`,
/// matvec_q8r8.c): the executor asks the provider for that layout only for weights that linears alone read, every
/// linear path reads it (decode, Q8_0's small batch, prefill widening), a batched row equals its single-row result
/// bit for bit, and results stay within the bound for quantized activations of the f32 reference.
final class Q8InterleavedTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    /// A random Q8_0 (or `dtype`) weight [out, in] and its dequantized values.
    func q8Weight(out: Int, in inF: Int, dtype: DType = .q8_0, _ rng: inout SeededGenerator) throws -> (Tensor, [Float]) {
        let f = Tensor((0..<(out * inF)).map { _ in Float.random(in: -0.1...0.1, using: &rng) }, shape: [out, inF])
        let w = Tensor(zeros: [out, inF], dtype: dtype)
        try registry.converter(from: .f32, to: dtype).convert(f.rawPointer, from: .f32, to: w.mutableRawPointer, dtype,
                                                              count: out * inF)
        let back = Tensor(zeros: [out, inF])
        try registry.converter(from: dtype, to: .f32).convert(w.rawPointer, from: dtype, to: back.mutableRawPointer, .f32,
                                                              count: out * inF)
        return (w, try back.floats())
    }

    func testPackUnpackAndRowDequantizationMatchTheStandardLayout() throws {
        var rng = SeededGenerator(seed: 3)
        let (w, values) = try q8Weight(out: 24, in: 96, &rng)
        let packed = [UInt8](repeating: 0, count: w.byteCount), back = [UInt8](repeating: 0, count: w.byteCount)
        packed.withUnsafeBufferPointer { p in
            omni_q8_0_r8_pack(w.rawPointer.assumingMemoryBound(to: UInt8.self), UnsafeMutablePointer(mutating: p.baseAddress!), 96, 24)
            back.withUnsafeBufferPointer { b in
                omni_q8_0_r8_unpack(p.baseAddress!, UnsafeMutablePointer(mutating: b.baseAddress!), 96, 24)
            }
        }
        XCTAssertNotEqual(packed, Array(UnsafeRawBufferPointer(start: w.rawPointer, count: w.byteCount)), "the layout moves bytes")
        XCTAssertEqual(back, Array(UnsafeRawBufferPointer(start: w.rawPointer, count: w.byteCount)))
        var rows = [Float](repeating: .nan, count: 13 * 96)
        packed.withUnsafeBufferPointer { omni_q8_0_r8_dequantize_rows($0.baseAddress!, &rows, 96, 5, 18) }
        XCTAssertEqual(rows, Array(values[(5 * 96)..<(18 * 96)]), "rows 5..<18, across a group boundary")

        let (w4, values4) = try q8Weight(out: 16, in: 64, dtype: .q4_0, &rng)
        let packed4 = [UInt8](repeating: 0, count: w4.byteCount), back4 = [UInt8](repeating: 0, count: w4.byteCount)
        packed4.withUnsafeBufferPointer { p in
            omni_q4_0_r8_pack(w4.rawPointer.assumingMemoryBound(to: UInt8.self), UnsafeMutablePointer(mutating: p.baseAddress!), 64, 16)
            back4.withUnsafeBufferPointer { b in
                omni_q4_0_r8_unpack(p.baseAddress!, UnsafeMutablePointer(mutating: b.baseAddress!), 64, 16)
            }
        }
        XCTAssertEqual(back4, Array(UnsafeRawBufferPointer(start: w4.rawPointer, count: w4.byteCount)))
        var rows4 = [Float](repeating: .nan, count: 10 * 64)
        packed4.withUnsafeBufferPointer { omni_q4_0_r8_dequantize_rows($0.baseAddress!, &rows4, 64, 3, 13) }
        XCTAssertEqual(rows4, Array(values4[(3 * 64)..<(13 * 64)]))
    }

    /// One linear through the executor, weights in `provider`; returns y.
    func run(_ x: [Float], t: Int, inF: Int, outF: Int, provider: InMemoryWeights, interleave: Bool = true) throws -> [Float] {
        var g = Graph()
        g.markOutput(g.linear(g.input("x", shape: [t, inF]), g.weight("w", shape: [outF, inF]), name: "y"))
        let exec = Executor(registry: registry, threads: 2)
        exec.interleavesQuantizedWeights = interleave
        return try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, inF])], weights: provider)["y"]!.floats()
    }

    func testEveryLinearPathReadsTheInterleavedLayout() throws {
        var rng = SeededGenerator(seed: 11)
        let cases = [DType.q8_0, .q4_0].flatMap { d in [(96, 40), (128, 8), (64, 136)].map { (d, $0.0, $0.1) } }
        for (dtype, inF, outF) in cases {
            let (w, values) = try q8Weight(out: outF, in: inF, dtype: dtype, &rng)
            let provider = InMemoryWeights(["w": w])
            // Rows of x quantized as llama.cpp does (ExecutorTests' bound for that): Q8_0 up to 16 (decode and the
            // small batch), Q4_0 up to 2 (decode); more rows widen the weights for SGEMM.
            let quantizedRows = dtype == .q8_0 ? 16 : 2
            for t in [1, 2, 3, 5, 8, 16, 20] {
                let x = (0..<(t * inF)).map { _ in Float.random(in: -1...1, using: &rng) }
                let got = try run(x, t: t, inF: inF, outF: outF, provider: provider)
                XCTAssertEqual(kept(provider, "w", dtype)?.layout, TensorLayout.interleaved(for: dtype),
                               "the provider keeps the interleaved copy")
                XCTAssertEqual(try provider.tensor("w").layout, .standard, "InMemoryWeights returns what it was given")
                let want = naiveLinear(x, values, t: t, inF: inF, outF: outF)
                XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(got, want), t <= quantizedRows ? 2e-2 : 1e-5,
                                         "\(dtype) in \(inF) out \(outF) T=\(t)")
                if t > quantizedRows {
                    let stored = try run(x, t: t, inF: inF, outF: outF, provider: InMemoryWeights(["w": w]), interleave: false)
                    XCTAssertEqual(got, stored, "\(dtype) T=\(t): the widening reads the same values from either layout")
                }
                if t >= 2 && t <= quantizedRows {
                    for r in [0, t - 1] {
                        let alone = try run(Array(x[(r * inF)..<((r + 1) * inF)]), t: 1, inF: inF, outF: outF, provider: provider)
                        XCTAssertEqual(Array(got[(r * outF)..<((r + 1) * outF)]), alone, "\(dtype) in \(inF) T=\(t) row \(r): batch = single")
                    }
                }
            }
        }
    }

    func testOnlyWeightsThatLinearsAndEmbeddingsReadAreInterleaved() throws {
        var rng = SeededGenerator(seed: 5)
        let (table, _) = try q8Weight(out: 16, in: 64, &rng)
        let (other, _) = try q8Weight(out: 16, in: 64, &rng)
        let (norm, _) = try q8Weight(out: 16, in: 64, &rng)
        // "table" is read by an embedding and by a linear (tied embeddings), "other" only by a linear: both are
        // interleaved, and the embedding reads its rows from there. "table2" only by an embedding, "norm" by a
        // linear as its weight and by another as its x: both stay as stored.
        func graph() -> Graph {
            var g = Graph()
            let ids = g.input("ids", shape: [2], dtype: .i64)
            let tw = g.weight("table", shape: [16, 64])
            let e = g.embedding(tw, ids: ids, name: "e")
            g.markOutput(e)
            g.markOutput(g.linear(e, tw, name: "logits"))
            g.markOutput(g.linear(e, g.weight("other", shape: [16, 64]), name: "z"))
            g.markOutput(g.embedding(g.weight("table2", shape: [16, 64]), ids: ids, name: "e2"))
            let nw = g.weight("norm", shape: [16, 64])
            g.markOutput(g.linear(e, nw, name: "n"))
            g.markOutput(g.linear(nw, g.weight("other", shape: [16, 64]), name: "m"))
            return g
        }
        let inputs = ["ids": Tensor(int64: [3, 9], shape: [2])]
        let provider = InMemoryWeights(["table": table, "other": other, "table2": table, "norm": norm])
        let exec = Executor(registry: registry, threads: 2)
        let r = try exec.run(exec.plan(graph()), inputs: inputs, weights: provider)
        XCTAssertEqual(kept(provider, "table", .q8_0)?.layout, .q8_0Rows8, "a tied table is interleaved")
        XCTAssertEqual(kept(provider, "other", .q8_0)?.layout, .q8_0Rows8)
        XCTAssertNil(kept(provider, "table2", .q8_0), "a table only an embedding reads stays as stored")
        XCTAssertNil(kept(provider, "norm", .q8_0), "a weight a linear reads as x stays as stored")
        // The same graph with every weight as stored: the embedding rows are the same values, bit for bit.
        let plain = Executor(registry: registry, threads: 2)
        plain.interleavesQuantizedWeights = false
        let s = try plain.run(plain.plan(graph()), inputs: inputs,
                              weights: InMemoryWeights(["table": table, "other": other, "table2": table, "norm": norm]))
        XCTAssertEqual(try r["e"]!.floats(), try s["e"]!.floats())
        XCTAssertEqual(try r["e"]!.floats(), try r["e2"]!.floats(), "interleaved and stored rows of one table")
        for name in ["logits", "z"] {
            let a = try r[name]!.floats(), b = try s[name]!.floats()
            let scale = b.map(abs).max() ?? 1
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-5 * scale, name)
        }

        // A graph that reads "other" through an embedding after another graph interleaved it gets the stored layout.
        var g2 = Graph()
        let ids2 = g2.input("ids", shape: [2], dtype: .i64)
        g2.markOutput(g2.embedding(g2.weight("other", shape: [16, 64]), ids: ids2, name: "e2"))
        let viaTable = try exec.run(exec.plan(g2), inputs: ["ids": Tensor(int64: [3, 9], shape: [2])], weights: provider)["e2"]!
        let fresh = try exec.run(exec.plan(g2), inputs: ["ids": Tensor(int64: [3, 9], shape: [2])],
                                 weights: InMemoryWeights(["other": other]))["e2"]!
        XCTAssertEqual(try viaTable.floats(), try fresh.floats())
    }

    /// The copy `provider` keeps in the interleaved layout for `dtype`, nil when none was made (never makes one).
    func kept(_ provider: InMemoryWeights, _ key: String, _ dtype: DType) -> Tensor? {
        struct NotKept: Error {}
        return try? provider.tensor(key, layout: TensorLayout.interleaved(for: dtype)!) { _, _ in throw NotKept() }
    }

    func naiveLinear(_ x: [Float], _ w: [Float], t: Int, inF: Int, outF: Int) -> [Float] {
        var y = [Float](repeating: 0, count: t * outF)
        for r in 0..<t {
            for o in 0..<outF {
                var s: Double = 0
                for i in 0..<inF { s += Double(x[r * inF + i]) * Double(w[o * inF + i]) }
                y[r * outF + o] = Float(s)
            }
        }
        return y
    }
}
