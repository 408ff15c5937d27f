@testable import DeviceCUDA
import OmniCore
import XCTest

/// The GPU plan's staging for convolutions (no GPU needed: `CUDARunMemory` mirrors the executor's rules). A conv1d
/// in the GEMM form (groups 1, ≥ 16 output channels and positions) unrolls its input into the GEMM scratch, so the
/// plan books those columns; a grouped one runs on the direct kernel and books none; the columns are chunked under
/// 64 MiB.
final class CUDARunMemoryTests: XCTestCase {
    func conv(cin: Int, len: Int, cout: Int, k: Int, stride: Int, groups: Int) -> (Graph, lOut: Int) {
        var g = Graph()
        let x = g.input("x", shape: [cin, len])
        let y = g.conv1d(x, g.weight("w", shape: [cout, cin / groups, k]), bias: nil, stride: stride, padding: 1, groups: groups,
                         name: "y")
        g.markOutput(y)
        return (g, g[y].shape[1])
    }

    func staging(_ g: Graph) -> Int {
        CUDARunMemory.estimate(g, keep: [], cachedRows: 0, precision: .f32, weightDType: { _ in .f32 }).staging
    }

    func testAGEMMFormConvolutionBooksItsColumns() {
        let (g, lOut) = conv(cin: 64, len: 400, cout: 32, k: 3, stride: 2, groups: 1)
        XCTAssertEqual(lOut, 200)
        XCTAssertTrue(CUDAKernels.usesConvGemm(groups: 1, cout: 32, lOut: lOut))
        XCTAssertEqual(staging(g), 64 * 400 * 4 + lOut * 64 * 3 * 4 + (32 << 20))   // input, columns, cuBLASLt workspace
    }

    func testAGroupedConvolutionBooksNoColumns() {
        let (g, lOut) = conv(cin: 64, len: 400, cout: 32, k: 3, stride: 2, groups: 4)
        XCTAssertFalse(CUDAKernels.usesConvGemm(groups: 4, cout: 32, lOut: lOut))
        XCTAssertEqual(staging(g), 64 * 400 * 4 + (32 << 20))
    }

    func testColumnsAreChunkedUnder64MiB() {
        let chunk = CUDAKernels.convChunk(cin: 4096, k: 7, lOut: 100_000)
        XCTAssertEqual(chunk, (64 << 20) / (4096 * 7 * 4))
        XCTAssertLessThanOrEqual(chunk * 4096 * 7 * 4, 64 << 20)
        XCTAssertEqual(CUDAKernels.convChunk(cin: 128, k: 3, lOut: 200), 200)   // the audio tower's conv1: one chunk
    }
}
