// C kernels that need intrinsics. Each public function picks its path at run time by CPU feature
// (AVX-512 / AVX2+F16C+FMA / portable C), so the package builds and runs on any x86-64 or ARM CPU.
#ifndef OMNI_CKERNELS_H
#define OMNI_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CPU feature bits reported by omni_cpu_features().
enum {
    OMNI_CPU_AVX2 = 1 << 0,      ///< AVX2 + FMA + F16C
    OMNI_CPU_AVX512 = 1 << 1,    ///< AVX-512 F/BW/VL
    OMNI_CPU_AVX512BF16 = 1 << 2,///< AVX512-BF16 (vdpbf16ps)
    OMNI_CPU_VNNI = 1 << 3,      ///< AVX512-VNNI or AVX-VNNI
};

/// Features of this CPU, masked by the OMNI_CPU environment variable ("portable", "avx2", "avx512").
int omni_cpu_features(void);
/// Restricts the paths used from now on to `mask` & the detected features (tests and benchmarks compare paths).
void omni_cpu_override(int mask);
/// Name of the widest path in use ("avx512bf16", "avx512", "avx2", "portable").
const char *omni_cpu_path(void);

// ---- dtype conversion (IEEE-754, round to nearest even; NaN stays NaN) ----
void omni_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
void omni_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
void omni_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void omni_f32_to_f16(const float *src, uint16_t *dst, size_t n);

#ifdef __cplusplus
}
#endif
#endif
