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
/// Two taps of one output pixel per vector: lanes (r, g, b, ·) of tap k and of tap k + 1, times the coefficients
/// (w_k, w_k, w_k, 0, w_k+1, w_k+1, w_k+1, 0). Rows are copied into a zero-padded buffer first, so that the
/// 16-byte loads past a row's last tap stay inside memory (their lanes are multiplied by zero).
X86_TARGET("avx2,fma") static void horizontal_avx2(const uint8_t *src, size_t in_width, uint8_t *dst, size_t out_width,
                                                   const int32_t *bounds, const int32_t *coeffs, size_t taps,
                                                   size_t row0, size_t row1) {
    const size_t pairs = (taps + 1) / 2;
    int32_t *wide = aligned_alloc(32, (out_width * pairs * 8 * sizeof(int32_t) + 31) / 32 * 32);
    uint8_t *padded = malloc(in_width * 3 + 64);
    if (!wide || !padded) {
        free(wide); free(padded);
        horizontal_c(src, in_width, dst, out_width, bounds, coeffs, taps, row0, row1);
        return;
    }
    for (size_t x = 0; x < out_width; x++) {
        for (size_t j = 0; j < pairs; j++) {
            int32_t *v = wide + (x * pairs + j) * 8;
            const int32_t a = coeffs[x * taps + 2 * j], b = 2 * j + 1 < taps ? coeffs[x * taps + 2 * j + 1] : 0;
            v[0] = v[1] = v[2] = a; v[3] = 0; v[4] = v[5] = v[6] = b; v[7] = 0;
        }
    }
    memset(padded + in_width * 3, 0, 64);
    const __m128i spread = _mm_setr_epi8(0, 1, 2, 2, 3, 4, 5, 5, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i half = _mm_set1_epi32(1 << 21);
    for (size_t y = row0; y < row1; y++) {
        memcpy(padded, src + y * in_width * 3, in_width * 3);
        uint8_t *out = dst + y * out_width * 3;
        for (size_t x = 0; x < out_width; x++) {
            const int32_t start = bounds[2 * x], count = bounds[2 * x + 1];
            const uint8_t *p = padded + (size_t)start * 3;
            const int32_t *w = wide + x * pairs * 8;
            __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
            int32_t j = 0;
            for (; 2 * j + 2 < count; j += 2) {
                __m256i px0 = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 6 * j)), spread));
                __m256i px1 = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 6 * j + 6)), spread));
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(px0, _mm256_load_si256((const __m256i *)(w + 8 * j))));
                a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(px1, _mm256_load_si256((const __m256i *)(w + 8 * j + 8))));
            }
            for (; 2 * j < count; j++) {
                __m256i px = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 6 * j)), spread));
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(px, _mm256_load_si256((const __m256i *)(w + 8 * j))));
            }
            __m256i a = _mm256_add_epi32(a0, a1);
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
