// PIL's bicubic (any filter) resampling passes on packed RGB bytes: AVX2 with a portable fallback, identical bytes.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif

static inline uint8_t clip8(int32_t s) {
    s >>= 22;
    return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

static void horizontal_c(const uint8_t *src, size_t in_width, uint8_t *dst, size_t out_width,
                         const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t row0, size_t row1) {
    for (size_t y = row0; y < row1; y++) {
        const uint8_t *row = src + y * in_width * 3;
        uint8_t *out = dst + y * out_width * 3;
        for (size_t x = 0; x < out_width; x++) {
            const int32_t start = bounds[2 * x], count = bounds[2 * x + 1];
            const int32_t *w = coeffs + x * taps;
            int32_t s0 = 1 << 21, s1 = 1 << 21, s2 = 1 << 21;
            const uint8_t *p = row + (size_t)start * 3;
            for (int32_t k = 0; k < count; k++, p += 3) { s0 += p[0] * w[k]; s1 += p[1] * w[k]; s2 += p[2] * w[k]; }
            out[3 * x] = clip8(s0); out[3 * x + 1] = clip8(s1); out[3 * x + 2] = clip8(s2);
        }
    }
}

static void vertical_c(const uint8_t *src, size_t row_bytes, uint8_t *dst,
                       const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t j0, size_t row0, size_t row1) {
    for (size_t y = row0; y < row1; y++) {
        const int32_t start = bounds[2 * y], count = bounds[2 * y + 1];
        const int32_t *w = coeffs + y * taps;
        for (size_t j = j0; j < row_bytes; j++) {
            int32_t s = 1 << 21;
            for (int32_t k = 0; k < count; k++) s += src[(size_t)(start + k) * row_bytes + j] * w[k];
            dst[y * row_bytes + j] = clip8(s);
        }
    }
}

#if defined(__x86_64__)
/// Four taps of one output pixel per vector, in 16-bit lanes: (r_k, r_k+1, g_k, g_k+1, b_k, b_k+1, 0, 0) in the low
/// half and the same for taps k + 2, k + 3 in the high half. Each 22-bit coefficient is split as c = h · 2^11 + l
/// with 0 ≤ l < 2^11, both halves fit 16 bits, and two `madd`s give Σ p · h and Σ p · l exactly; the sum is
/// (Σ p · h) · 2^11 + Σ p · l. Rows are copied into a zero-padded buffer first, so that the 16-byte loads past a
/// row's last tap stay inside memory (their lanes are multiplied by zero).
X86_TARGET("avx2,fma") static void horizontal_avx2(const uint8_t *src, size_t in_width, uint8_t *dst, size_t out_width,
                                                   const int32_t *bounds, const int32_t *coeffs, size_t taps,
                                                   size_t row0, size_t row1) {
    const size_t groups = (taps + 3) / 4;
    // Per output pixel and group of 4 taps: 16 int16 of high parts, then 16 of low parts.
    int16_t *wide = aligned_alloc(32, (out_width * groups * 64 + 31) / 32 * 32);
    uint8_t *padded = malloc(in_width * 3 + 64);
    if (!wide || !padded) {
        free(wide); free(padded);
        horizontal_c(src, in_width, dst, out_width, bounds, coeffs, taps, row0, row1);
        return;
    }
    for (size_t x = 0; x < out_width; x++) {
        for (size_t g = 0; g < groups; g++) {
            int16_t *hi = wide + (x * groups + g) * 32, *lo = hi + 16;
            for (size_t t = 0; t < 4; t++) {
                const size_t k = 4 * g + t;
                const int32_t c = k < taps ? coeffs[x * taps + k] : 0;
                const size_t lane = (t / 2) * 8 + t % 2;
                for (size_t ch = 0; ch < 3; ch++) {
                    hi[lane + 2 * ch] = (int16_t)(c >> 11);
                    lo[lane + 2 * ch] = (int16_t)(c & 2047);
                }
                hi[(t / 2) * 8 + 6 + t % 2] = 0;
                lo[(t / 2) * 8 + 6 + t % 2] = 0;
            }
        }
    }
    memset(padded + in_width * 3, 0, 64);
    const __m256i spread = _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
                                            6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1);
    const __m128i half = _mm_set1_epi32(1 << 21);
    for (size_t y = row0; y < row1; y++) {
        memcpy(padded, src + y * in_width * 3, in_width * 3);
        uint8_t *out = dst + y * out_width * 3;
        for (size_t x = 0; x < out_width; x++) {
            const int32_t start = bounds[2 * x], count = bounds[2 * x + 1];
            const uint8_t *p = padded + (size_t)start * 3;
            const int16_t *w = wide + x * groups * 32;
            __m256i ah = _mm256_setzero_si256(), al = _mm256_setzero_si256();
            for (int32_t g = 0; 4 * g < count; g++) {
                const __m256i px = _mm256_shuffle_epi8(
                    _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p + 12 * g))), spread);
                ah = _mm256_add_epi32(ah, _mm256_madd_epi16(px, _mm256_load_si256((const __m256i *)(w + 32 * g))));
                al = _mm256_add_epi32(al, _mm256_madd_epi16(px, _mm256_load_si256((const __m256i *)(w + 32 * g + 16))));
            }
            const __m256i a = _mm256_add_epi32(_mm256_slli_epi32(ah, 11), al);
            __m128i s = _mm_add_epi32(_mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)), half);
            s = _mm_srai_epi32(s, 22);
            s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
            const uint32_t rgb = (uint32_t)_mm_cvtsi128_si32(s);
            out[3 * x] = (uint8_t)rgb; out[3 * x + 1] = (uint8_t)(rgb >> 8); out[3 * x + 2] = (uint8_t)(rgb >> 16);
        }
    }
    free(wide);
    free(padded);
}

/// 32 bytes of an output row at a time, the taps' source rows accumulated in registers.
X86_TARGET("avx2,fma") static void vertical_avx2(const uint8_t *src, size_t row_bytes, uint8_t *dst,
                                                 const int32_t *bounds, const int32_t *coeffs, size_t taps,
                                                 size_t row0, size_t row1) {
    const __m256i half = _mm256_set1_epi32(1 << 21), order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const size_t body = row_bytes / 32 * 32;
    for (size_t y = row0; y < row1; y++) {
        const int32_t start = bounds[2 * y], count = bounds[2 * y + 1];
        const int32_t *w = coeffs + y * taps;
        for (size_t j = 0; j < body; j += 32) {
            __m256i a0 = half, a1 = half, a2 = half, a3 = half;
            for (int32_t k = 0; k < count; k++) {
                const uint8_t *p = src + (size_t)(start + k) * row_bytes + j;
                const __m256i c = _mm256_set1_epi32(w[k]);
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)), c));
                a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))), c));
                a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 16))), c));
                a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 24))), c));
            }
            __m256i lo = _mm256_packs_epi32(_mm256_srai_epi32(a0, 22), _mm256_srai_epi32(a1, 22));
            __m256i hi = _mm256_packs_epi32(_mm256_srai_epi32(a2, 22), _mm256_srai_epi32(a3, 22));
            __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(lo, hi), order);
            _mm256_storeu_si256((__m256i *)(dst + y * row_bytes + j), b);
        }
        if (body < row_bytes) vertical_c(src, row_bytes, dst, bounds, coeffs, taps, body, y, y + 1);
    }
}
#endif

void omni_resample_rgb8_horizontal(const uint8_t *src, size_t in_width, uint8_t *dst, size_t out_width,
                                   const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t row0, size_t row1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) {
        horizontal_avx2(src, in_width, dst, out_width, bounds, coeffs, taps, row0, row1);
        return;
    }
#endif
    horizontal_c(src, in_width, dst, out_width, bounds, coeffs, taps, row0, row1);
}

void omni_resample_rgb8_vertical(const uint8_t *src, size_t row_bytes, uint8_t *dst,
                                 const int32_t *bounds, const int32_t *coeffs, size_t taps, size_t row0, size_t row1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) {
        vertical_avx2(src, row_bytes, dst, bounds, coeffs, taps, row0, row1);
        return;
    }
#endif
    vertical_c(src, row_bytes, dst, bounds, coeffs, taps, 0, row0, row1);
}
