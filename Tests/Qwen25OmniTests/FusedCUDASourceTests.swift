@testable import DeviceCUDA
import OmniCore
@testable import Qwen25Omni
import XCTest

/// The model's fused ops that carry CUDA C (BigVGAN's anti-aliased SnakeBeta) compile with NVRTC, with the helpers the
/// CUDA backend puts before them (no GPU needed; skipped where NVRTC is not found). Their results against the CPU
/// kernels are checked on a GPU by `cuda-check`.
final class FusedCUDASourceTests: XCTestCase {
    func testSnakeBetaCUDASourceCompiles() throws {
        guard case let .success(api) = CUDALibrary.nvrtc else {
            throw XCTSkip("NVRTC not found (set OMNI_CUDA_LIB_DIR to a folder holding libnvrtc.so.13)")
        }
        guard let src = AntiAliasedSnakeBeta().kernel(for: "cuda")?.source else { return XCTFail("no CUDA source") }
        let common = CUDAKernelSource.files.first { $0.name == "common.cu" }?.text ?? ""
        let bin = try CUDACompiler.compile(api: api, source: common + "\n" + src.text, options: CUDACompiler.options(architecture: "sm_90"))
        XCTAssertGreaterThan(bin.count, 1024)
        XCTAssertEqual(src.scalars([[4, 9], [4], [4]], [4, 9]), [4, 9])
        XCTAssertEqual(src.items([[4, 9], [4], [4]], [4, 9]), 36)
    }
}
