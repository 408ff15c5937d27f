@testable import DeviceCUDA
import Foundation
import XCTest

/// The CUDA kernels through clang's CUDA front end (device side, sm_90), with no GPU and no CUDA toolkit: every
/// kernels/*.cu file as NVRTC compiles them (one program, common.cu first) after a prelude that declares the
/// built-ins they use. It checks syntax, types and template instantiation, so a kernel edit that would not compile
/// fails here, in CI, and not on the GPU machine; NVRTC's own compile is `CUDABackendTests.testTheKernelsCompileWithNVRTC`
/// where NVRTC is found. Skipped, saying why, where no clang with CUDA support is found (the Swift toolchain's has it).
final class CUDAKernelSyntaxTests: XCTestCase {
    /// Declarations of what NVRTC provides that the kernels use (a built-in missing here fails the test: add it).
    static let prelude = #"""
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict
#include "__clang_cuda_builtin_vars.h"
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(8))) uint2 { unsigned int x, y; };
struct __attribute__((aligned(16))) uint4 { unsigned int x, y, z, w; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
struct __attribute__((aligned(8))) int2 { int x, y; };
struct __attribute__((aligned(4))) char4 { signed char x, y, z, w; };
__device__ float4 make_float4(float, float, float, float);
__device__ float2 make_float2(float, float);
__device__ uint2 make_uint2(unsigned, unsigned);
__device__ uint4 make_uint4(unsigned, unsigned, unsigned, unsigned);
__device__ int4 make_int4(int, int, int, int);
__device__ float __int_as_float(int); __device__ int __float_as_int(float);
__device__ float __uint_as_float(unsigned); __device__ unsigned __float_as_uint(float);
__device__ float __shfl_xor_sync(unsigned, float, int, int w = 32); __device__ int __shfl_xor_sync(unsigned, int, int, int w = 32);
__device__ unsigned __shfl_xor_sync(unsigned, unsigned, int, int w = 32);
__device__ float __shfl_sync(unsigned, float, int, int w = 32); __device__ int __shfl_sync(unsigned, int, int, int w = 32);
__device__ unsigned __shfl_sync(unsigned, unsigned, int, int w = 32);
__device__ float __shfl_down_sync(unsigned, float, int, int w = 32);
__device__ void __syncthreads(); __device__ void __syncwarp(unsigned m = 0xffffffff);
__device__ float atomicAdd(float*, float); __device__ int atomicAdd(int*, int);
__device__ float fmaxf(float, float); __device__ float fminf(float, float); __device__ float expf(float); __device__ float __expf(float);
__device__ float sqrtf(float); __device__ float rsqrtf(float); __device__ float tanhf(float); __device__ float erff(float);
__device__ float logf(float); __device__ float sinf(float); __device__ float cosf(float); __device__ float fabsf(float);
__device__ float powf(float, float); __device__ float floorf(float); __device__ float exp2f(float); __device__ float __fdividef(float, float);
__device__ float __sinf(float); __device__ float __cosf(float); __device__ float log1pf(float); __device__ float expm1f(float);
__device__ int min(int, int); __device__ int max(int, int); __device__ long long min(long long, long long); __device__ long long max(long long, long long);
__device__ float fmaf(float, float, float); __device__ int __dp4a(int, int, int);
__device__ unsigned __cvta_generic_to_shared(const void*);
__device__ float __ldg(const float*); __device__ float4 __ldg(const float4*);
__device__ int __float2int_rn(float); __device__ float roundf(float); __device__ float rintf(float); __device__ float truncf(float);
__device__ float copysignf(float, float); __device__ float ceilf(float); __device__ float fmodf(float, float); __device__ int abs(int);
__device__ float __frcp_rn(float); __device__ float atan2f(float, float); __device__ float log2f(float); __device__ float __saturatef(float);
__device__ float __half2float(unsigned short);
__device__ float __ldcg(const float*);
__device__ void __threadfence();
"""#

    func clang() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("clang")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    func check(_ source: String, clang: URL, defines: [String] = []) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-cuda-syntax-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.prelude.write(to: dir.appendingPathComponent("prelude.h"), atomically: true, encoding: .utf8)
        try source.write(to: dir.appendingPathComponent("kernels.cu"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = clang
        p.currentDirectoryURL = dir
        p.arguments = ["-x", "cuda", "--cuda-device-only", "--cuda-gpu-arch=sm_90", "-nocudainc", "-nocudalib", "-std=c++17",
                       "-fsyntax-only", "-include", "prelude.h"] + defines.map { "-D\($0)" } + ["kernels.cu"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testTheKernelsPassClangsCUDAFrontEnd() throws {
        guard let clang = clang() else { throw XCTSkip("no clang on PATH") }
        // The front end must work here at all, and must catch an error: otherwise this test could not fail.
        let probe = try check("extern \"C\" __global__ void probe(float* x) { x[threadIdx.x] = 1.f; }", clang: clang)
        guard probe.status == 0 else { throw XCTSkip("this clang has no CUDA front end: \(probe.output.prefix(300))") }
        let bad = try check("extern \"C\" __global__ void probe(float* x) { x[0] = not_declared(1); }", clang: clang)
        XCTAssertNotEqual(bad.status, 0, "an undeclared function must fail the check")
        let r = try check(CUDACompiler.source, clang: clang)
        XCTAssertEqual(r.status, 0, String(r.output.prefix(4000)))
        // Again as NVRTC sees the source for sm_90a (CUDAModule's choice on compute capability 9.0): the Hopper-only
        // code (flash_wgmma.cu's wgmma kernel) is compiled only under this macro.
        let hopper = try check(CUDACompiler.source, clang: clang, defines: ["__CUDA_ARCH_FEAT_SM90_ALL=1"])
        XCTAssertEqual(hopper.status, 0, String(hopper.output.prefix(4000)))
    }
}
