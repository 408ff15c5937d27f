@testable import DeviceCUDA
import XCTest

/// The decode launch geometry is sized by the GPU's multiprocessor count (no GPU needed: pure rules). At 32 warps a
/// multiprocessor on the H200's 132, the 7B thinker's GEMVs split as measured (q/o, k/v and down 8 warps a row group,
/// gate/up and the LM head 1); a smaller GPU gets fewer warps a row group for the same shape, never fewer than 1 or
/// more than 8; the split-K chunk aims at two blocks a multiprocessor within 32 … 256 keys.
final class CUDALaunchGeometryTests: XCTestCase {
    func testGemvSplitFollowsTheMultiprocessorCount() {
        let h200 = 132
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 3584, multiprocessors: h200, warpsPerMultiprocessor: 32), 8)   // q/o, down
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 512, multiprocessors: h200, warpsPerMultiprocessor: 32), 8)    // k/v
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 18944, multiprocessors: h200, warpsPerMultiprocessor: 32), 1)  // gate/up
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 152064, multiprocessors: h200, warpsPerMultiprocessor: 32), 1) // LM head
        // The harness's old target (16) on the same GPU: q/o and down on 4.
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 3584, multiprocessors: h200, warpsPerMultiprocessor: 16), 4)
        // A GPU with 58 multiprocessors needs fewer warps a row group for the same rows.
        XCTAssertEqual(CUDAKernels.gemvSplit(outFeatures: 3584, multiprocessors: 58, warpsPerMultiprocessor: 32), 4)
        for sms in [1, 8, 58, 132, 1000] {
            for n in [1, 4, 512, 3584, 152064] {
                let w = CUDAKernels.gemvSplit(outFeatures: n, multiprocessors: sms, warpsPerMultiprocessor: 32)
                XCTAssertTrue([1, 2, 4, 8].contains(w), "\(n) features on \(sms) multiprocessors: \(w)")
            }
        }
    }

    func testSplitKChunkAimsAtTwoBlocksAMultiprocessor() {
        // 4 KV heads on the H200: 66 splits a head wanted; 128 keys → 32-key chunks (4 splits), 8192 → 128.
        XCTAssertEqual(CUDAFlash.decodeChunk(keys: 128, kvHeads: 4, multiprocessors: 132), 32)
        XCTAssertEqual(CUDAFlash.decodeChunk(keys: 8192, kvHeads: 4, multiprocessors: 132), 128)
        XCTAssertEqual(CUDAFlash.decodeChunk(keys: 1 << 20, kvHeads: 4, multiprocessors: 132), 256)
        // Fewer multiprocessors: fewer, longer chunks for the same keys.
        XCTAssertEqual(CUDAFlash.decodeChunk(keys: 8192, kvHeads: 4, multiprocessors: 32), 256)
        XCTAssertGreaterThan(CUDAFlash.decodeChunk(keys: 4096, kvHeads: 4, multiprocessors: 32),
                             CUDAFlash.decodeChunk(keys: 4096, kvHeads: 4, multiprocessors: 132))
        for sms in [1, 58, 132] {
            for keys in [1, 31, 256, 5000] {
                let c = CUDAFlash.decodeChunk(keys: keys, kvHeads: 4, multiprocessors: sms)
                XCTAssertTrue(c >= 32 && c <= 256 && c % 32 == 0, "\(keys) keys on \(sms): \(c)")
            }
        }
    }
}
