// Bulk f32 <-> f16 / bf16 conversion: AVX-512, AVX2(+F16C) and portable paths.
#include "CKernels.h"
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif

#include "half.h"

// ---------------- AVX2 ----------------
#if defined(__x86_64__)
X86_TARGET("avx2,fma,f16c")
static void bf16_to_f32_avx2(const uint16_t *s, float *d, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));
        __m256i b = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i + 8)));
        _mm256_storeu_si256((__m256i *)(d + i), _mm256_slli_epi32(a, 16));
        _mm256_storeu_si256((__m256i *)(d + i + 8), _mm256_slli_epi32(b, 16));
    }
    for (; i < n; i++) d[i] = bf16_to_f32_1(s[i]);
}

X86_TARGET("avx2,fma,f16c")
static inline __m256i f32_to_bf16_8(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), 16);
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(r, q, nan);
}

X86_TARGET("avx2,fma,f16c")
static void f32_to_bf16_avx2(const float *s, uint16_t *d, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = f32_to_bf16_8(_mm256_loadu_ps(s + i));
        __m256i b = f32_to_bf16_8(_mm256_loadu_ps(s + i + 8));
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
        _mm256_storeu_si256((__m256i *)(d + i), p);
    }
    for (; i < n; i++) d[i] = f32_to_bf16_1(s[i]);
}

X86_TARGET("avx2,fma,f16c")
static void f16_to_f32_avx2(const uint16_t *s, float *d, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    for (; i < n; i++) d[i] = f16_to_f32_1(s[i]);
}

X86_TARGET("avx2,fma,f16c")
static void f32_to_f16_avx2(const float *s, uint16_t *d, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) d[i] = f32_to_f16_1(s[i]);
}

// ---------------- AVX-512 ----------------
X86_TARGET("avx512f,avx512bw,avx512vl")
static void bf16_to_f32_avx512(const uint16_t *s, float *d, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i a = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(s + i)));
        _mm512_storeu_si512((void *)(d + i), _mm512_slli_epi32(a, 16));
    }
    for (; i < n; i++) d[i] = bf16_to_f32_1(s[i]);
}

X86_TARGET("avx512f,avx512bw,avx512vl")
static void f32_to_bf16_avx512(const float *s, uint16_t *d, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(s + i);
        __m512i u = _mm512_castps_si512(x);
        __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb), 16);
        __m512i q = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
        __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        r = _mm512_mask_mov_epi32(r, nan, q);
        _mm256_storeu_si256((__m256i *)(d + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < n; i++) d[i] = f32_to_bf16_1(s[i]);
}
#endif

// ---------------- dispatch ----------------
void omni_bf16_to_f32(const uint16_t *s, float *d, size_t n) {
#if defined(__x86_64__)
    int f = omni_cpu_features();
    if (f & OMNI_CPU_AVX512) { bf16_to_f32_avx512(s, d, n); return; }
    if (f & OMNI_CPU_AVX2) { bf16_to_f32_avx2(s, d, n); return; }
#endif
    for (size_t i = 0; i < n; i++) d[i] = bf16_to_f32_1(s[i]);
}

void omni_f32_to_bf16(const float *s, uint16_t *d, size_t n) {
#if defined(__x86_64__)
    int f = omni_cpu_features();
    if (f & OMNI_CPU_AVX512) { f32_to_bf16_avx512(s, d, n); return; }
    if (f & OMNI_CPU_AVX2) { f32_to_bf16_avx2(s, d, n); return; }
#endif
    for (size_t i = 0; i < n; i++) d[i] = f32_to_bf16_1(s[i]);
}

void omni_f16_to_f32(const uint16_t *s, float *d, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { f16_to_f32_avx2(s, d, n); return; }
#endif
    for (size_t i = 0; i < n; i++) d[i] = f16_to_f32_1(s[i]);
}

void omni_f32_to_f16(const float *s, uint16_t *d, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { f32_to_f16_avx2(s, d, n); return; }
#endif
    for (size_t i = 0; i < n; i++) d[i] = f32_to_f16_1(s[i]);
}
