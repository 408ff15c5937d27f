import CCUDA
import Foundation
import OmniCore

/// The CUDA libraries, loaded once per process with dlopen (see Sources/CCUDA): the driver, NVRTC and cuBLASLt.
enum CUDALibrary {
    /// The function table, or why it could not be loaded ("no GPU: libcuda.so.1 not found …").
    static let loaded: Result<UnsafePointer<omni_cuda_api>, OmniError> = {
        var api: UnsafePointer<omni_cuda_api>?
        var message = [CChar](repeating: 0, count: 512)
        let rc = omni_cuda_load(nil, &api, &message, message.count)
        guard rc == 0, let api else { return .failure(unavailable(String(cString: message))) }
        return .success(api)
    }()

    /// NVRTC alone (compiling kernels needs no GPU).
    static let nvrtc: Result<UnsafePointer<omni_cuda_api>, OmniError> = {
        var api: UnsafePointer<omni_cuda_api>?
        var message = [CChar](repeating: 0, count: 512)
        let rc = omni_nvrtc_load(nil, &api, &message, message.count)
        guard rc == 0, let api else { return .failure(unavailable(String(cString: message))) }
        return .success(api)
    }()

    /// The typed error for a missing library or device.
    static func unavailable(_ reason: String) -> OmniError { .unsupported(what: "CUDA", reasons: [reason]) }

    /// Throws naming `what` when a driver call failed.
    static func check(_ api: UnsafePointer<omni_cuda_api>, _ rc: omni_CUresult, _ what: @autoclosure () -> String) throws {
        guard rc != 0 else { return }
        var text: UnsafePointer<CChar>?
        _ = api.pointee.cuGetErrorString(rc, &text)
        throw OmniError.unsupported(what: "CUDA \(what())", reasons: ["error \(rc): " + (text.map { String(cString: $0) } ?? "unknown")])
    }
}

/// One GPU: its primary context, one stream, pinned staging for host↔device copies.
final class CUDAContext: @unchecked Sendable {
    let api: UnsafePointer<omni_cuda_api>
    let ordinal: Int
    let device: omni_CUdevice
    let context: omni_CUcontext
    let stream: omni_CUstream
    let info: ComputeDeviceInfo
    /// Compute capability (9, 0) → sm_90.
    let capability: (major: Int, minor: Int)
    /// Streaming multiprocessors (132 on the H200): the GEMV split and the split-K block count are sized by it.
    let multiprocessors: Int
    private var staging: UnsafeMutableRawPointer?
    private var stagingBytes = 0
    private let lock = NSLock()
    /// While set, kernel launches, device copies and GEMMs are recorded here instead of issued (the executor then
    /// issues them directly or under a CUDA graph capture; see CUDAStepGraph.swift).
    var recorder: CUDARecorder?

    init(ordinal: Int) throws {
        let api = try CUDALibrary.loaded.get()
        self.api = api
        self.ordinal = ordinal
        let f = api.pointee
        try CUDALibrary.check(api, f.cuInit(0), "cuInit")
        var count: Int32 = 0
        try CUDALibrary.check(api, f.cuDeviceGetCount(&count), "cuDeviceGetCount")
        guard count > 0 else { throw CUDALibrary.unavailable("no CUDA device (the driver reports none)") }
        guard ordinal >= 0, ordinal < Int(count) else {
            throw OmniError.invalidArgument(name: "device", expected: "cuda:0 … cuda:\(count - 1)", actual: "cuda:\(ordinal)")
        }
        var dev: omni_CUdevice = 0
        try CUDALibrary.check(api, f.cuDeviceGet(&dev, Int32(ordinal)), "cuDeviceGet")
        device = dev
        var nameBytes = [CChar](repeating: 0, count: 256)
        try CUDALibrary.check(api, f.cuDeviceGetName(&nameBytes, 255, dev), "cuDeviceGetName")
        var major: Int32 = 0, minor: Int32 = 0
        try CUDALibrary.check(api, f.cuDeviceGetAttribute(&major, Int32(OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), dev), "compute capability")
        try CUDALibrary.check(api, f.cuDeviceGetAttribute(&minor, Int32(OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), dev), "compute capability")
        capability = (Int(major), Int(minor))
        var sms: Int32 = 0
        try CUDALibrary.check(api, f.cuDeviceGetAttribute(&sms, Int32(OMNI_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), dev), "multiprocessor count")
        multiprocessors = max(1, Int(sms))
        var total = 0
        try CUDALibrary.check(api, f.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem")
        var ctx: omni_CUcontext?
        try CUDALibrary.check(api, f.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        guard let ctx else { throw CUDALibrary.unavailable("no context for cuda:\(ordinal)") }
        context = ctx
        try CUDALibrary.check(api, f.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        var s: omni_CUstream?
        try CUDALibrary.check(api, f.cuStreamCreate(&s, 1 /* non-blocking */), "cuStreamCreate")
        guard let s else { throw CUDALibrary.unavailable("no stream on cuda:\(ordinal)") }
        stream = s
        info = ComputeDeviceInfo(id: DeviceID("cuda", index: ordinal), name: String(cString: nameBytes), totalMemory: total,
                                 architecture: "sm_\(major)\(minor)")
        dependentLaunches = f.cuLaunchKernelEx != nil && major >= 9 && ProcessInfo.processInfo.environment["OMNI_CUDA_PDL"] != "0"
    }

    /// Whether kernels are launched as programmatic dependent launches (sm_90 and newer, a driver with
    /// cuLaunchKernelEx): each of `waitsForPredecessor`'s kernels may then be scheduled while the kernel ahead of it
    /// finishes, loads its weights, and waits for it (kernels/common.cu's omni_pdl_wait). The decode step is a chain
    /// of short kernels; this hides part of each one's start. Values are unchanged. `OMNI_CUDA_PDL=0` turns it off.
    let dependentLaunches: Bool

    /// Kernels written for a dependent launch: each calls omni_pdl_wait() before it touches anything but its
    /// weights, and reads nothing through the non-coherent path. (A kernel not listed here must never get the
    /// attribute: it would race the kernel before it.)
    static func waitsForPredecessor(_ name: String) -> Bool {
        name.hasPrefix("omni_gemv") || name.hasPrefix("omni_attn_decode_split") || dependentKernels.contains(name)
    }
    private static let dependentKernels: Set<String> = [
        "omni_rms_norm_f32", "omni_add_rms_norm_f32", "omni_rope_f32", "omni_rope2_f32", "omni_cache_write_dyn",
        "omni_cache_write_dyn_bf16", "omni_attn_decode_combine", "omni_quantize_q8_rows", "omni_rope2_cache_dyn",
        "omni_rope2_cache_dyn_bf16",
    ]

    /// Whether the last operation put on the stream was a launch of one of `waitsForPredecessor`'s kernels: only then
    /// may the next launch be a dependent one. Those kernels write activations and the KV cache, never a weight, and a
    /// dependent kernel loads its weights before it waits; a copy, a GEMM or another kernel (a conversion at upload
    /// writes weights) clears this. Kept as operations are issued or recorded-then-issued, so graphs get the same edges.
    private var dependentMayFollow = false

    /// Notes that an operation other than a kernel launch went on the stream (see `dependentMayFollow`).
    func noteOtherWork() { dependentMayFollow = false }

    /// The devices present, or why there are none.
    static func probe() -> ComputeDeviceProbe {
        let api: UnsafePointer<omni_cuda_api>
        switch CUDALibrary.loaded {
        case let .failure(e): return .unavailable(reason: Self.reason(e))
        case let .success(a): api = a
        }
        let f = api.pointee
        var count: Int32 = 0
        if f.cuInit(0) != 0 || f.cuDeviceGetCount(&count) != 0 || count == 0 {
            return .unavailable(reason: "no CUDA device (the driver reports none)")
        }
        var out: [ComputeDeviceInfo] = []
        for i in 0..<Int(count) {
            var dev: omni_CUdevice = 0, major: Int32 = 0, minor: Int32 = 0, total = 0
            var nameBytes = [CChar](repeating: 0, count: 256)
            _ = f.cuDeviceGet(&dev, Int32(i))
            _ = f.cuDeviceGetName(&nameBytes, 255, dev)
            _ = f.cuDeviceGetAttribute(&major, Int32(OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), dev)
            _ = f.cuDeviceGetAttribute(&minor, Int32(OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), dev)
            _ = f.cuDeviceTotalMem(&total, dev)
            out.append(ComputeDeviceInfo(id: DeviceID("cuda", index: i), name: String(cString: nameBytes),
                                         totalMemory: total, architecture: "sm_\(major)\(minor)"))
        }
        return .available(out)
    }

    static func reason(_ e: OmniError) -> String {
        if case let .unsupported(_, reasons) = e, let r = reasons.first { return r }
        return "\(e)"
    }

    func check(_ rc: omni_CUresult, _ what: @autoclosure () -> String) throws { try CUDALibrary.check(api, rc, what()) }

    /// Makes this GPU's context current on the calling thread.
    func makeCurrent() throws { try check(api.pointee.cuCtxSetCurrent(context), "cuCtxSetCurrent") }

    func allocate(_ bytes: Int) throws -> UInt64 {
        var p: omni_CUdeviceptr = 0
        try check(api.pointee.cuMemAlloc(&p, max(bytes, 256)), "cuMemAlloc(\(bytes) bytes) on cuda:\(ordinal)")
        return p
    }

    func free(_ address: UInt64) {
        _ = api.pointee.cuCtxSetCurrent(context)
        _ = api.pointee.cuMemFree(address)
    }

    func synchronize() throws { try check(api.pointee.cuStreamSynchronize(stream), "stream synchronize") }

    /// Pinned host memory of at least `bytes`, reused across copies (one copy at a time).
    private func pinned(_ bytes: Int) throws -> UnsafeMutableRawPointer {
        if let s = staging, stagingBytes >= bytes { return s }
        if let s = staging { _ = api.pointee.cuMemFreeHost(s); staging = nil; stagingBytes = 0 }
        var p: UnsafeMutableRawPointer?
        let size = max(bytes, 1 << 20)
        try check(api.pointee.cuMemHostAlloc(&p, size, 0), "cuMemHostAlloc(\(size) bytes)")
        guard let p else { throw CUDALibrary.unavailable("pinned allocation returned nothing") }
        staging = p
        stagingBytes = size
        return p
    }

    /// Host → device through the pinned staging buffer, in chunks; returns when the bytes are on the device.
    func upload(_ host: UnsafeRawPointer, bytes: Int, to address: UInt64) throws {
        lock.lock(); defer { lock.unlock() }
        let chunk = 64 << 20
        let buf = try pinned(min(bytes, chunk))
        var done = 0
        while done < bytes {
            let n = min(chunk, bytes - done)
            buf.copyMemory(from: host + done, byteCount: n)
            noteOtherWork()
            try check(api.pointee.cuMemcpyHtoDAsync(address + UInt64(done), buf, n, stream), "host→device copy")
            try synchronize()
            done += n
        }
    }

    /// Device → host through the pinned staging buffer.
    func download(_ address: UInt64, bytes: Int, to host: UnsafeMutableRawPointer) throws {
        lock.lock(); defer { lock.unlock() }
        let chunk = 64 << 20
        let buf = try pinned(min(bytes, chunk))
        var done = 0
        while done < bytes {
            let n = min(chunk, bytes - done)
            noteOtherWork()
            try check(api.pointee.cuMemcpyDtoHAsync(buf, address + UInt64(done), n, stream), "device→host copy")
            try synchronize()
            (host + done).copyMemory(from: buf, byteCount: n)
            done += n
        }
    }

    /// Device → host for several regions with one wait: every copy is queued into the pinned staging buffer, the
    /// stream is synchronized once, then each region is copied out (a decode step's logits and hidden row). When
    /// the regions do not fit the staging buffer together they go one by one through `download(_:bytes:to:)`.
    func download(_ regions: [(address: UInt64, bytes: Int, host: UnsafeMutableRawPointer)]) throws {
        let round = { (n: Int) in (n + 255) / 256 * 256 }
        let total = regions.reduce(0) { $0 + round($1.bytes) }
        guard total <= 64 << 20 else {
            for r in regions where r.bytes > 0 { try download(r.address, bytes: r.bytes, to: r.host) }
            return
        }
        lock.lock(); defer { lock.unlock() }
        let buf = try pinned(max(total, 1))
        var at = 0
        for r in regions where r.bytes > 0 {
            noteOtherWork()
            try check(api.pointee.cuMemcpyDtoHAsync(buf + at, r.address, r.bytes, stream), "device→host copy")
            at += round(r.bytes)
        }
        try synchronize()
        at = 0
        for r in regions where r.bytes > 0 {
            r.host.copyMemory(from: buf + at, byteCount: r.bytes)
            at += round(r.bytes)
        }
    }

    /// Device → device on the stream (recorded while a recorder is set).
    func copy(from src: UInt64, to dst: UInt64, bytes: Int) throws {
        guard bytes > 0 else { return }
        if let r = recorder { r.ops.append(.copy(src: src, dst: dst, bytes: bytes)); return }
        noteOtherWork()
        try check(api.pointee.cuMemcpyDtoDAsync(dst, src, bytes, stream), "device copy")
    }

    /// Host → device on the stream without waiting: `host` must stay unchanged until the stream has passed the copy
    /// (pinned memory, reused only after the next synchronize).
    func uploadAsync(_ host: UnsafeRawPointer, bytes: Int, to address: UInt64) throws {
        guard bytes > 0 else { return }
        noteOtherWork()
        try check(api.pointee.cuMemcpyHtoDAsync(address, host, bytes, stream), "host→device copy")
    }

    /// Launches `fn` on the stream with `args` (their C types must match the kernel's parameters).
    func issueLaunch(_ fn: omni_CUfunction, grid: Int, block: Int, shared: Int, _ args: [CUDAArg], name: String) throws {
        let slots = args.map { $0.allocate() }
        defer { slots.forEach { $0.deallocate() } }
        var params: [UnsafeMutableRawPointer?] = slots
        let aware = dependentLaunches && Self.waitsForPredecessor(name)
        let dependent = aware && dependentMayFollow
        dependentMayFollow = aware
        let rc = params.withUnsafeMutableBufferPointer {
            dependent
                ? omni_cuda_launch_dependent(api, fn, UInt32(grid), UInt32(block), UInt32(shared), stream, $0.baseAddress)
                : api.pointee.cuLaunchKernel(fn, UInt32(grid), 1, 1, UInt32(block), 1, 1, UInt32(shared), stream, $0.baseAddress, nil)
        }
        try check(rc, "launch of \(name) (grid \(grid), block \(block))")
    }
}
