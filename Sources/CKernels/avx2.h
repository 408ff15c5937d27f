// AVX2 helpers shared by the C kernels (compiled per function with a target attribute, used only after the
// run-time dispatch has seen AVX2 + FMA).
#ifndef OMNI_AVX2_H
#define OMNI_AVX2_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>
#define X86_TARGET(t) __attribute__((target(t)))

/// Sum of the 8 lanes.
X86_TARGET("avx2,fma") static inline float omni_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// dot(x, y) with two accumulators.
X86_TARGET("avx2,fma") static inline float omni_dot_avx2(const float *x, const float *y, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
    }
    float s = omni_hsum8(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}
#endif
#endif
