import CCUDA
import Foundation
import OmniCore

/// The kernels of Plugins/DeviceCUDA/kernels compiled by NVRTC for one architecture (`sm_90a` on the H200, see
/// `target`) to CUBIN, cached on disk at
/// `${XDG_CACHE_HOME:-~/.cache}/swift-omni/cuda/sm_XX-<sha256 of source, options and NVRTC version>.cubin`.
enum CUDACompiler {
    /// The whole program: every embedded .cu file, in order.
    static var source: String { CUDAKernelSource.files.map { "// ---- \($0.name)\n" + $0.text }.joined(separator: "\n") }

    static func options(architecture: String) -> [String] { ["--gpu-architecture=\(architecture)", "-std=c++17"] }

    /// The target NVRTC compiles for on a GPU of `architecture`: compute capability 9.0 gets `sm_90a`, whose
    /// architecture-specific instructions (wgmma: kernels/flash_wgmma.cu) exist only there; others their own.
    static func target(architecture: String) -> String { architecture == "sm_90" ? "sm_90a" : architecture }

    /// Whether the Hopper-only kernels are wanted where they were compiled (OMNI_CUDA_WGMMA=0 keeps the mma.sync
    /// kernels, for A/B measurements).
    static let wgmmaWanted = ProcessInfo.processInfo.environment["OMNI_CUDA_WGMMA"] != "0"

    /// The CUBIN of `source` (default: the embedded kernels) for `architecture`, from the disk cache or compiled now
    /// (and then cached).
    static func cubin(architecture: String, source: String = CUDACompiler.source) throws -> [UInt8] {
        let api = try CUDALibrary.nvrtc.get()
        var major: Int32 = 0, minor: Int32 = 0
        _ = api.pointee.nvrtcVersion(&major, &minor)
        let opts = options(architecture: architecture)
        let key = SHA256.hex(Array((source + "\0" + opts.joined(separator: " ") + "\0nvrtc \(major).\(minor)").utf8))
        let file = cacheDirectory().appendingPathComponent("\(architecture)-\(key).cubin")
        if let data = try? Data(contentsOf: file), !data.isEmpty { return [UInt8](data) }
        let bin = try compile(api: api, source: source, options: opts)
        try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = file.appendingPathExtension("tmp\(getpid())")
        if (try? Data(bin).write(to: tmp)) != nil { _ = try? FileManager.default.replaceItemAt(file, withItemAt: tmp) }
        try? FileManager.default.removeItem(at: tmp)
        return bin
    }

    /// Compiles the program with NVRTC; the error carries NVRTC's log.
    static func compile(api: UnsafePointer<omni_cuda_api>, source: String = CUDACompiler.source, options: [String]) throws -> [UInt8] {
        let f = api.pointee
        var prog: omni_nvrtcProgram?
        var rc = f.nvrtcCreateProgram(&prog, source, "swift-omni.cu", 0, nil, nil)
        guard rc == 0, prog != nil else { throw failure("nvrtcCreateProgram", rc, api, log: "") }
        defer { _ = f.nvrtcDestroyProgram(&prog) }
        let cOpts = options.map { strdup($0) }
        defer { cOpts.forEach { Foundation.free($0) } }
        rc = cOpts.map { UnsafePointer($0) }.withUnsafeBufferPointer { f.nvrtcCompileProgram(prog, Int32(options.count), $0.baseAddress) }
        var logSize = 0
        _ = f.nvrtcGetProgramLogSize(prog, &logSize)
        var log = [CChar](repeating: 0, count: max(logSize, 1))
        _ = f.nvrtcGetProgramLog(prog, &log)
        guard rc == 0 else { throw failure("compiling the CUDA kernels", rc, api, log: String(cString: log)) }
        var size = 0
        rc = f.nvrtcGetCUBINSize(prog, &size)
        guard rc == 0, size > 0 else { throw failure("nvrtcGetCUBINSize", rc, api, log: "") }
        var bin = [UInt8](repeating: 0, count: size)
        rc = bin.withUnsafeMutableBytes { f.nvrtcGetCUBIN(prog, $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        guard rc == 0 else { throw failure("nvrtcGetCUBIN", rc, api, log: "") }
        return bin
    }

    static func failure(_ what: String, _ rc: Int32, _ api: UnsafePointer<omni_cuda_api>, log: String) -> OmniError {
        let text = api.pointee.nvrtcGetErrorString(rc).map { String(cString: $0) } ?? "error \(rc)"
        return .unsupported(what: "NVRTC \(what)", reasons: [text] + (log.isEmpty ? [] : [log]))
    }

    static func cacheDirectory() -> URL {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("swift-omni/cuda")
    }
}

/// The loaded module of one GPU and its functions by name.
final class CUDAModule: @unchecked Sendable {
    let context: CUDAContext
    private let module: omni_CUmodule
    private var functions: [String: omni_CUfunction] = [:]
    /// The dynamic shared-memory limit raised so far, per kernel (beyond the default 48 KiB).
    private var sharedLimits: [String: Int] = [:]

    /// Whether this module holds the wgmma kernels (compiled for sm_90a) and they are wanted.
    let hasWgmma: Bool

    init(context: CUDAContext, source: String = CUDACompiler.source) throws {
        self.context = context
        let arch = context.info.architecture, target = CUDACompiler.target(architecture: arch)
        var bin: [UInt8], built = target
        do {
            bin = try CUDACompiler.cubin(architecture: target, source: source)
        } catch {
            // An NVRTC older than CUDA 12 has no sm_90a: the GPU's own architecture then, without the Hopper-only
            // kernels (the attention falls back to mma.sync), rather than no GPU at all.
            guard target != arch else { throw error }
            bin = try CUDACompiler.cubin(architecture: arch, source: source)
            built = arch
        }
        hasWgmma = CUDACompiler.wgmmaWanted && built == "sm_90a"
        var m: omni_CUmodule?
        try bin.withUnsafeBytes { try context.check(context.api.pointee.cuModuleLoadData(&m, $0.baseAddress), "cuModuleLoadData") }
        guard let m else { throw CUDALibrary.unavailable("the kernel module did not load") }
        module = m
    }

    func function(_ name: String) throws -> omni_CUfunction {
        if let f = functions[name] { return f }
        var f: omni_CUfunction?
        try context.check(context.api.pointee.cuModuleGetFunction(&f, module, name), "kernel \(name)")
        guard let f else { throw CUDALibrary.unavailable("kernel \(name) missing") }
        functions[name] = f
        return f
    }

    /// Launches `name` on the stream with `args` (their C types must match the kernel's parameters); while the
    /// context records (a decode step), the launch is recorded instead.
    func launch(_ name: String, grid: Int, block: Int, shared: Int = 0, _ args: [CUDAArg]) throws {
        guard grid > 0 else { return }
        let fn = try function(name)
        if shared > 48 << 10, (sharedLimits[name] ?? 0) < shared {
            // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES (8): flash attention's 32-row tiles take ~100 KiB.
            try context.check(context.api.pointee.cuFuncSetAttribute(fn, 8, Int32(shared)), "shared memory limit of \(name)")
            sharedLimits[name] = shared
        }
        if let r = context.recorder {
            r.ops.append(.launch(function: fn, grid: grid, block: block, shared: shared, args: args, name: name))
            return
        }
        try context.issueLaunch(fn, grid: grid, block: block, shared: shared, args, name: name)
    }

    /// Blocks for a grid-stride loop over `n` elements.
    static func blocks(_ n: Int, _ block: Int = 256) -> Int { max(1, min((n + block - 1) / block, 1 << 16)) }
}

/// One kernel argument, by value.
enum CUDAArg: Equatable {
    case ptr(UInt64)
    case i32(Int32)
    case i64(Int64)
    case f32(Float)
    case bytes([UInt8])

    static func int(_ v: Int) -> CUDAArg { .i32(Int32(v)) }
    static func long(_ v: Int) -> CUDAArg { .i64(Int64(v)) }

    func allocate() -> UnsafeMutableRawPointer {
        switch self {
        case let .ptr(v): return Self.box(v)
        case let .i32(v): return Self.box(v)
        case let .i64(v): return Self.box(v)
        case let .f32(v): return Self.box(v)
        case let .bytes(b):
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(b.count, 1), alignment: 16)
            b.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: b.count) }
            return p
        }
    }

    private static func box<T>(_ v: T) -> UnsafeMutableRawPointer {
        let p = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: 16)
        p.storeBytes(of: v, as: T.self)
        return p
    }
}
