// harness.h: host helpers shared by the standalone CUDA kernel harnesses (nvcc only, never part of the package).
// Checked CUDA calls, a deterministic host RNG, a device RNG fill, event timing with medians.
#pragma once
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <algorithm>
#include <vector>

#define CK(x)                                                                                       \
    do {                                                                                            \
        cudaError_t e_ = (x);                                                                       \
        if (e_ != cudaSuccess) {                                                                    \
            fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
            exit(2);                                                                                \
        }                                                                                           \
    } while (0)
#define CKL() CK(cudaGetLastError())

static int g_failures = 0;

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint32_t u32() {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        return (uint32_t)(s >> 11);
    }
    float uni() { return (u32() & 0xFFFFFF) / 16777216.0f; }              // [0, 1)
    float sym() { return 2.f * uni() - 1.f; }                            // [-1, 1)
    float normal() {                                                     // approximately N(0, 1)
        float a = 0; for (int i = 0; i < 4; ++i) a += sym();
        return a * 0.8660254f;
    }
};

static uint16_t f2bf(float f) {  // round to nearest even
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
static float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static float h2f(uint16_t h) {
    uint32_t s = (h >> 15) & 1, e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m | 1024), (int)e - 25);
    return s ? -v : v;
}
static uint16_t f2h(float f) {  // for scales in a normal range only
    uint32_t u; memcpy(&u, &f, 4);
    uint32_t s = (u >> 16) & 0x8000; int e = ((u >> 23) & 255) - 127 + 15; uint32_t m = (u >> 13) & 1023;
    if (e <= 0) return (uint16_t)s;
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    return (uint16_t)(s | (e << 10) | m);
}

// Device fill: uniform [-a, a) from a hash of the index (for buffers too large to fill from the host).
__global__ void fill_uniform_f32(float* p, size_t n, float a, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 0x9E3779B1u ^ seed; h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        p[i] = a * ((h & 0xFFFFFF) / 8388608.0f - 1.f);
    }
}
__global__ void fill_random_bytes(uint32_t* p, size_t nWords, uint32_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < nWords; i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 0x9E3779B1u ^ seed ^ (uint32_t)(i >> 32) * 0x7F4A7C15u; h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        p[i] = h;
    }
}
// bf16 words with finite values in about [-2, 2): keep sign and mantissa random, exponent in 120 … 127.
__global__ void fix_bf16_range(uint16_t* p, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint16_t h = p[i];
        p[i] = (uint16_t)((h & 0x807f) | ((120 + ((h >> 7) & 7)) << 7));
    }
}
// f16 scales in about [2^-9, 2^-6).
__global__ void fix_f16_scales(uint16_t* p, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint16_t h = p[i];
        p[i] = (uint16_t)((h & 0x03ff) | ((6 + (h >> 14)) << 10));
    }
}

struct Timer {
    cudaEvent_t a, b;
    Timer() { CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b)); }
    ~Timer() { cudaEventDestroy(a); cudaEventDestroy(b); }
    // Median over `reps` timings of fn() (each timing `inner` calls), in ms per call, after `warm` calls.
    template <class F> float median(F fn, int reps = 10, int inner = 1, int warm = 2) {
        for (int i = 0; i < warm; ++i) fn();
        CK(cudaDeviceSynchronize());
        std::vector<float> t;
        for (int r = 0; r < reps; ++r) {
            CK(cudaEventRecord(a));
            for (int i = 0; i < inner; ++i) fn();
            CK(cudaEventRecord(b));
            CK(cudaEventSynchronize(b));
            float ms; CK(cudaEventElapsedTime(&ms, a, b));
            t.push_back(ms / inner);
        }
        CKL();
        std::sort(t.begin(), t.end());
        return t[t.size() / 2];
    }
};

// ‖out − ref‖ / ‖ref‖ and max|out − ref| / max|ref| over n values; NaN or an unwritten (poisoned) value fails.
struct ErrStat {
    double num = 0, den = 0, maxErr = 0, maxRef = 0;
    long bad = 0;
    void add(double out, double ref) {
        if (!(fabs(out) < 1e30)) { ++bad; return; }
        num += (out - ref) * (out - ref); den += ref * ref;
        maxErr = std::max(maxErr, fabs(out - ref)); maxRef = std::max(maxRef, fabs(ref));
    }
    double rel() const { return den > 0 ? sqrt(num / den) : sqrt(num); }
    double maxRel() const { return maxRef > 0 ? maxErr / maxRef : maxErr; }
    bool ok(double tol) const { return bad == 0 && rel() <= tol && maxRel() <= 4 * tol; }
};

static void report(const char* name, const ErrStat& e, double tol) {
    bool ok = e.ok(tol);
    if (!ok) ++g_failures;
    printf("CHECK %-58s relL2 %.2e  maxrel %.2e  unwritten/NaN %ld  tol %.0e  %s\n", name, e.rel(), e.maxRel(), e.bad,
           tol, ok ? "ok" : "FAIL");
}

static int smCount() {
    int dev, n; CK(cudaGetDevice(&dev)); CK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
}

// Device-to-device copy bandwidth (bytes read + written per second), the roofline's denominator.
static double copyBandwidth(size_t bytes = (size_t)2 << 30) {
    void *a, *b;
    CK(cudaMalloc(&a, bytes)); CK(cudaMalloc(&b, bytes));
    CK(cudaMemset(a, 1, bytes));
    Timer t;
    float ms = t.median([&] { CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, 10, 1, 2);
    CK(cudaFree(a)); CK(cudaFree(b));
    return 2.0 * bytes / (ms * 1e-3);
}
