import BuiltinPlugins
@testable import DeviceCUDA
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
import XCTest

/// The CUDA device: the conformance suite where a GPU is present (skipped with the probe's reason elsewhere), the
/// loader's error path, NVRTC compiling the kernels (wherever NVRTC is found: no GPU needed), and the embedded
/// kernel source against kernels/*.cu.
final class CUDABackendTests: XCTestCase {
    func gpuExecutor(_ precision: ComputePrecision = .f32) throws -> CUDAExecutor {
        if case let .unavailable(reason) = CUDAPlugin().probe() { throw XCTSkip("no CUDA device: \(reason)") }
        return try CUDAExecutor(ordinal: 0, registry: BuiltinPlugins.registry(), precision: precision, host: CPUDevice())
    }

    func testEveryOpOfTheCUDATableMatchesItsDefinition() throws {
        let exec = try gpuExecutor()
        let report = try BackendConformance.check(exec)
        XCTAssertEqual(report.failures, [])
        // The suite's fused op carries a CPU kernel only; every other case must run.
        XCTAssertEqual(report.skipped.filter { !$0.contains("fused") }, [])
        XCTAssertEqual(Set(OpKind.allCases).subtracting(report.covered), [.fused], "op kinds without a passing case")
    }

    func testWithoutAGPUTheExecutorIsATypedErrorSayingWhy() throws {
        guard case let .unavailable(reason) = CUDAPlugin().probe() else { throw XCTSkip("a CUDA device is present") }
        XCTAssertFalse(reason.isEmpty)
        let options = ComputeExecutorOptions(host: CPUDevice())
        XCTAssertThrowsError(try CUDAPlugin().makeExecutor(index: 0, options: options, registry: BuiltinPlugins.registry())) { e in
            guard case let OmniError.unsupported(what, reasons) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(what, "CUDA")
            XCTAssertEqual(reasons, [reason])
        }
        // No driver library at all on this machine: the reason names it.
        if dlopen("libcuda.so.1", RTLD_NOW) == nil { XCTAssertTrue(reason.contains("libcuda.so.1 not found"), reason) }
    }

    func testTheRegistryListsTheCUDADevice() throws {
        let r = BuiltinPlugins.registry()
        XCTAssertEqual(try r.computeDevice(kind: "cuda").deviceKind, "cuda")
        XCTAssertThrowsError(try r.computeDevice(kind: "tpu"))
    }

    func testTheKernelsCompileWithNVRTC() throws {
        guard case .success = CUDALibrary.nvrtc else {
            throw XCTSkip("NVRTC not found (set OMNI_CUDA_LIB_DIR to a folder holding libnvrtc.so.13)")
        }
        let bin = try CUDACompiler.compile(api: try CUDALibrary.nvrtc.get(), options: CUDACompiler.options(architecture: "sm_90"))
        XCTAssertGreaterThan(bin.count, 1024)
        XCTAssertEqual(Array(bin.prefix(4)), [0x7f, 0x45, 0x4c, 0x46], "a CUBIN is an ELF file")
    }

    func testTheEmbeddedKernelSourceMatchesKernelsFolder() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Plugins/DeviceCUDA/kernels")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".cu") }.sorted()
        let expected = ["common.cu"] + names.filter { $0 != "common.cu" }
        XCTAssertEqual(CUDAKernelSource.files.map(\.name), expected, "the EmbedCUDAKernels build plugin embeds every kernels/*.cu, common.cu first")
        for (name, text) in CUDAKernelSource.files {
            let onDisk = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            XCTAssertEqual(text + "\n", onDisk, "\(name): the embedded text differs from the file")
        }
    }

    func testSHA256() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}
