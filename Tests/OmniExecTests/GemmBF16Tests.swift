import BuiltinPlugins
import CKernels
import OmniCore
@testable import OmniExec
import OmniTestSupport
import XCTest

/// The CPU's bf16-compute GEMM (`--compute-dtype bf16`, CKernels/gemm_bf16.c): its scalar reference against Float64
/// on bf16-rounded x (every CPU), the AMX-BF16 path against the reference (where the CPU has it), the executor's
/// linears in bf16 compute, and the run plan's scratch against the kernel's own count.
final class GemmBF16Tests: XCTestCase {
    private func bf16(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        return UInt16(truncatingIfNeeded: (b &+ 0x7fff &+ ((b >> 16) & 1)) >> 16)
    }
    private func float(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// (rows, in, n0, n1, ldy, accumulate): odd `in`, row tails (not a multiple of 12), column tails (not of 32), a
    /// block not at column 0, a row stride wider than the block, more than one block of k (in > 384).
    private let cases: [(Int, Int, Int, Int, Int, Bool)] = [
        (1, 1, 0, 1, 1, false), (5, 3, 0, 7, 7, false), (13, 33, 2, 31, 40, true), (12, 384, 0, 32, 32, false),
        (25, 385, 16, 81, 100, false), (30, 1000, 0, 70, 70, true), (40, 130, 5, 38, 64, false), (17, 801, 32, 97, 120, false),
    ]

    private func operands(_ rows: Int, _ inF: Int, _ cols: Int, _ rng: inout SeededGenerator) -> ([Float], [UInt16]) {
        let x = (0..<(rows * inF)).map { _ in Float.random(in: -2...2, using: &rng) }
        let w = (0..<(cols * inF)).map { _ in bf16(Float.random(in: -0.2...0.2, using: &rng)) }
        return (x, w)
    }

    /// y's elements inside the block within 1e-5 of Σ|terms| of `expected`; outside it untouched (bit for bit `before`).
    private func assertBlock(_ y: [Float], _ expected: (Int, Int) -> (Double, Double), before: [Float],
                             rows: Int, n0: Int, n1: Int, ldy: Int, _ what: String) {
        for m in 0..<rows {
            for n in 0..<ldy {
                let i = m * ldy + n
                if n < n0 || n >= n1 {
                    XCTAssertEqual(y[i].bitPattern, before[i].bitPattern, "\(what): row \(m) column \(n) outside the block changed")
                    continue
                }
                let (value, magnitude) = expected(m, n)
                XCTAssertLessThanOrEqual(abs(Double(y[i]) - value), 1e-5 * max(magnitude, 1e-30), "\(what): row \(m) column \(n)")
            }
        }
    }

    func testReferenceIsTheFloat64ProductOfRoundedX() {
        var rng = SeededGenerator(seed: 11)
        for (rows, inF, n0, n1, ldy, acc) in cases {
            let (x, w) = operands(rows, inF, n1, &rng)
            let before = (0..<(rows * ldy)).map { _ in acc ? Float.random(in: -1...1, using: &rng) : Float.nan }
            var y = before
            omni_gemm_bf16w_reference(x, rows, inF, w, n0, n1, &y, ldy, acc ? 1 : 0)
            assertBlock(y, { m, n in
                var s = acc ? Double(before[m * ldy + n]) : 0, mag = abs(s)
                for k in 0..<inF {
                    let p = Double(self.float(self.bf16(x[m * inF + k]))) * Double(self.float(w[n * inF + k]))
                    s += p; mag += abs(p)
                }
                return (s, mag)
            }, before: before, rows: rows, n0: n0, n1: n1, ldy: ldy, "reference rows \(rows) in \(inF)")
        }
    }

    func testAMXPathMatchesTheReference() throws {
        guard omni_gemm_bf16w_available() != 0 else {
            var y: [Float] = [1]
            XCTAssertEqual(omni_gemm_bf16w([1], 1, 1, [0x3f80], 0, 1, &y, 1, 0, nil), -1, "no AMX-BF16: the call must refuse")
            XCTAssertEqual(y, [1], "no AMX-BF16: nothing written")
            throw XCTSkip("this CPU has no AMX-BF16 (the fast path's own checks run on such a host: Benchmarks/gemm_bf16_peak.c)")
        }
        var rng = SeededGenerator(seed: 12)
        for (rows, inF, n0, n1, ldy, acc) in cases {
            let (x, w) = operands(rows, inF, n1, &rng)
            let before = (0..<(rows * ldy)).map { _ in acc ? Float.random(in: -1...1, using: &rng) : Float.nan }
            var ref = before, y = before
            omni_gemm_bf16w_reference(x, rows, inF, w, n0, n1, &ref, ldy, acc ? 1 : 0)
            var scratch = [Float](repeating: .nan, count: omni_gemm_bf16w_scratch_words(rows, inF, n1 - n0))
            XCTAssertEqual(omni_gemm_bf16w(x, rows, inF, w, n0, n1, &y, ldy, acc ? 1 : 0, &scratch), 0)
            assertBlock(y, { m, n in
                var mag = acc ? abs(Double(before[m * ldy + n])) : 0
                for k in 0..<inF { mag += abs(Double(self.float(self.bf16(x[m * inF + k]))) * Double(self.float(w[n * inF + k]))) }
                return (Double(ref[m * ldy + n]), mag)
            }, before: before, rows: rows, n0: n0, n1: n1, ldy: ldy, "AMX rows \(rows) in \(inF)")
        }
    }

    /// A prefill-sized linear with bf16 weights and a bias on executors in f32 and in bf16 compute: bf16 compute is the
    /// reference GEMM plus the bias where the CPU has AMX-BF16, and the f32 result bit for bit where it has not.
    func testExecutorLinearInBF16Compute() throws {
        let registry = BuiltinPlugins.registry()
        var rng = SeededGenerator(seed: 13)
        let t = 37, inF = 203, outF = 150
        let (x, w) = operands(t, inF, outF, &rng)
        let bias = (0..<outF).map { _ in Float.random(in: -1...1, using: &rng) }
        var g = Graph()
        g.markOutput(g.linear(g.input("x", shape: [t, inF]), g.weight("w", shape: [outF, inF]), bias: g.weight("b", shape: [outF]),
                              name: "y"))
        let wt = Tensor(zeros: [outF, inF], dtype: .bf16)
        w.withUnsafeBytes { wt.mutableRawPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let weights = InMemoryWeights(["w": wt, "b": Tensor(bias, shape: [outF])])
        func run(_ precision: ComputePrecision) throws -> [Float] {
            let exec = Executor(registry: registry, threads: 2, precision: precision)
            return try exec.run(exec.plan(g), inputs: ["x": Tensor(x, shape: [t, inF])], weights: weights)["y"]!.floats()
        }
        let f32 = try run(.f32), bf = try run(.bf16)
        guard omni_gemm_bf16w_available() != 0 else {
            XCTAssertEqual(bf.map(\.bitPattern), f32.map(\.bitPattern), "without AMX-BF16 bf16 compute is the f32 path")
            return
        }
        var ref = (0..<t).flatMap { _ in bias }
        omni_gemm_bf16w_reference(x, t, inF, w, 0, outF, &ref, outF, 1)
        for i in 0..<(t * outF) {
            var mag = abs(Double(bias[i % outF]))
            for k in 0..<inF { mag += abs(Double(float(bf16(x[i / outF * inF + k]))) * Double(float(w[i % outF * inF + k]))) }
            XCTAssertLessThanOrEqual(abs(Double(bf[i]) - Double(ref[i])), 1e-5 * mag, "element \(i)")
        }
        XCTAssertNotEqual(bf.map(\.bitPattern), f32.map(\.bitPattern), "bf16 compute rounds x: it cannot equal f32 here")
    }

    /// The weight panels, on AVX2 (8 × 8 transposes) and the portable path, against their definition word by word:
    /// ragged column blocks, odd `in`, a block of k past the first, padding pairs.
    func testWeightPanelsOnEveryPath() {
        var rng = SeededGenerator(seed: 14)
        for (rows, inF, n0, n1, p0, kp) in [(100, 64, 0, 100, 0, 32), (77, 385, 3, 70, 5, 188), (64, 1280, 0, 64, 192, 384),
                                            (40, 17, 1, 40, 0, 9), (96, 500, 32, 96, 240, 10), (70, 2050, 5, 70, 384, 384)] {
            let w = (0..<(rows * inF)).map { _ in UInt16.random(in: 0...UInt16.max, using: &rng) }
            let kpad = (kp + 15) / 16 * 16, panels = (n1 - n0 + 31) / 32
            var want = [UInt32](repeating: 0, count: panels * 32 * kpad)
            for j in 0..<panels {
                for lane in 0..<32 where n0 + 32 * j + lane < n1 {
                    let row = (n0 + 32 * j + lane) * inF
                    for p in 0..<kp {
                        let k = 2 * (p0 + p)
                        want[j * kpad * 32 + p * 32 + lane] = UInt32(w[row + k]) | (k + 1 < inF ? UInt32(w[row + k + 1]) << 16 : 0)
                    }
                }
            }
            for path: Int32 in [-1, 0] {
                omni_cpu_override(path)
                defer { omni_cpu_override(-1) }
                var got = [UInt32](repeating: 0xdead_beef, count: want.count)
                omni_gemm_bf16w_pack_w(w, inF, n0, n1, p0, kp, kpad, &got)
                XCTAssertEqual(got, want, "path \(path) rows \(rows) in \(inF) [\(n0), \(n1)) p0 \(p0) kp \(kp)")
            }
        }
    }

    /// `RunMemory.bf16GemmScratchWords` / `bf16GemmSlots` (the plan) are what the kernel asks for in its widest column
    /// block, and the slots `Kernels.gemm` takes.
    func testPlannedScratchIsTheKernelsCount() {
        for (t, inF, outF, threads) in [(3, 896, 896, 2), (1500, 1280, 5120, 2), (1024, 3420, 1280, 16), (7, 1, 5, 1),
                                        (400, 385, 67, 3), (2048, 3584, 18944, 8)] {
            let perThread = outF / (2 * threads) >= Kernels.gemmMinColumns ? 2 : 1
            let blocks = split(outF, parts: threads * perThread, multiple: 16)
            let widest = blocks.map(\.count).max() ?? 0
            XCTAssertEqual(RunMemory.bf16GemmScratchWords(rows: t, inF: inF, outF: outF, threads: threads),
                           omni_gemm_bf16w_scratch_words(t, inF, widest), "t \(t) in \(inF) out \(outF) threads \(threads)")
            XCTAssertEqual(RunMemory.bf16GemmSlots(outF: outF, threads: threads), min(threads, blocks.count),
                           "slots: out \(outF) threads \(threads)")
        }
    }
}
