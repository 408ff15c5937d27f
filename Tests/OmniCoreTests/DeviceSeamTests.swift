import OmniCore
import XCTest

/// Memory of another device has no host address, and nothing on the host side hands one out: attention calls
/// refuse host views of it, and attention selection skips backends that do not run on the call's device.
final class DeviceSeamTests: XCTestCase {
    /// A stand-in for a GPU allocation (the address means nothing on the host).
    func deviceTensor(_ shape: Shape, device: DeviceID = DeviceID("cuda", index: 0)) -> Tensor {
        let bytes = shape.elementCount * 4
        return Tensor(storage: Storage(device: device, address: 0x7000_0000, byteCount: bytes, onFree: nil), shape: shape, dtype: .f32)
    }

    func testDeviceStorageIsOpaqueToTheHost() {
        let t = deviceTensor([2, 8])
        XCTAssertEqual(t.device, DeviceID("cuda", index: 0))
        XCTAssertFalse(t.storage.isHostAddressable)
        XCTAssertTrue(Tensor(zeros: [2]).storage.isHostAddressable)
        XCTAssertEqual(Tensor(zeros: [2]).device, .cpu)
        guard case let .device(address) = t.storage.kind else { return XCTFail("expected device memory") }
        XCTAssertEqual(address, 0x7000_0000)
    }

    func testAttentionCallGivesHostViewsOnlyOnTheCPU() throws {
        let shape = AttentionShape(queryLength: 2, keyLength: 2, heads: 2, kvHeads: 1, headDim: 4)
        let gpu = AttentionCall(shape: shape, mask: .causal(), q: deviceTensor([2, 8]), k: deviceTensor([2, 4]),
                                v: deviceTensor([2, 4]), out: deviceTensor([2, 8]), scratch: deviceTensor([1]),
                                device: DeviceID("cuda", index: 0))
        XCTAssertThrowsError(try gpu.cpuView()) { XCTAssertTrue("\($0)".contains("cuda:0"), "\($0)") }
        let cpu = AttentionCall(shape: shape, mask: .causal(), q: Tensor(zeros: [2, 8]), k: Tensor(zeros: [2, 4]),
                                v: Tensor(zeros: [2, 4]), out: Tensor(zeros: [2, 8]), scratch: Tensor(zeros: [4]))
        let view = try cpu.cpuView()
        XCTAssertEqual([view.qRowStride, view.kRowStride, view.vRowStride, view.outRowStride], [8, 4, 4, 8])
        XCTAssertNoThrow(try view.scratch(floats: 4))
        XCTAssertThrowsError(try view.scratch(floats: 5)) { XCTAssertTrue("\($0)".contains("scratch"), "\($0)") }
        // A K tensor narrower than kvHeads·headDim is refused, naming it.
        var narrow = cpu
        narrow.k = Tensor(zeros: [2, 3])
        XCTAssertThrowsError(try narrow.cpuView()) { XCTAssertTrue("\($0)".contains("attention k"), "\($0)") }
    }

    /// An attention double that runs on a GPU only.
    struct GPUOnly: AttentionBackend {
        var name: String { "gpu_only" }
        var capabilities: AttentionCapabilities {
            AttentionCapabilities(dtypes: [.f32], maxHeadDim: 256, maskKinds: Set(AttentionMaskKind.allCases), groupedQuery: true)
        }
        var deviceKinds: Set<String> { ["cuda"] }
        func scratchBytes(for shape: AttentionShape, threads: Int) -> Int { 0 }
        func run(_ call: AttentionCall) throws {}
    }

    func testSelectionSkipsBackendsThatDoNotRunOnTheCallsDevice() throws {
        var r = PluginRegistry()
        r.register(CausalOnlyBackend(name: "host"))
        r.register(GPUOnly())
        let shape = AttentionShape(queryLength: 4, keyLength: 4, heads: 2, kvHeads: 2, headDim: 8)
        let onCPU = try r.selectAttention(chain: ["gpu_only", "host"], shape: shape, mask: .causal())
        XCTAssertEqual(onCPU.backend.name, "host")
        XCTAssertEqual(onCPU.log, ["gpu_only → host: does not run on cpu"])
        let onGPU = try r.selectAttention(chain: ["host", "gpu_only"], shape: shape, mask: .causal(),
                                          device: DeviceID("cuda", index: 0))
        XCTAssertEqual(onGPU.backend.name, "gpu_only")
        XCTAssertEqual(onGPU.log, ["host → gpu_only: does not run on cuda:0"])
    }
}
