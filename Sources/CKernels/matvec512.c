// AVX-512 decode kernels: bf16 rows through AVX512-BF16 dot products (vdpbf16ps) and Q8_0 rows through
// VNNI (vpdpbusd). Used only after the run-time dispatch in matvec.c has seen the features.
//
// bf16: vdpbf16ps multiplies bf16 by bf16, so x is split once per product into x ≈ hi + lo, both bf16
// (hi = x rounded to bf16, lo = the remainder rounded to bf16), and each weight load feeds two dot products.
// The split keeps about 16 significant bits of x (|x − hi − lo| ≤ 2⁻¹⁸|x|) where rounding x to bf16, as
// llama.cpp's BF16 path does, keeps 8; decode is bound by the weight stream, so the second product is free.
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#if defined(__x86_64__)
#include "avx2.h"
#endif
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")))
#define TVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

T512 void omni_bf16_prepare_avx512bf16(const float *x, float *xp, size_t in) {
    uint16_t *hi = (uint16_t *)xp, *lo = hi + in;
    size_t i = 0;
    for (; i + 16 <= in; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m256bh h = _mm512_cvtneps_pbh(v);
        __m512 hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16));
        __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hf));
        _mm256_storeu_si256((__m256i *)(hi + i), (__m256i)h);
        _mm256_storeu_si256((__m256i *)(lo + i), (__m256i)l);
    }
    for (; i < in; i++) {
        hi[i] = f32_to_bf16_1(x[i]);
        lo[i] = f32_to_bf16_1(x[i] - bf16_to_f32_1(hi[i]));
    }
}

T512 void omni_mv_bf16_avx512bf16(const uint16_t *w, const float *xp, const float *x, float *y,
                                  size_t in, size_t r0, size_t r1) {
    const uint16_t *hi = (const uint16_t *)xp, *lo = hi + in;
    const size_t main = in / 32 * 32;
    for (size_t o = r0; o < r1; o++) {
        const uint16_t *row = w + o * in;
        __m512 a = _mm512_setzero_ps(), b = a;
        for (size_t i = 0; i < main; i += 32) {
            _mm_prefetch((const char *)(row + i) + MV_PREFETCH, _MM_HINT_T0);
            __m512bh wv = (__m512bh)_mm512_loadu_si512((const void *)(row + i));
            a = _mm512_dpbf16_ps(a, wv, (__m512bh)_mm512_loadu_si512((const void *)(hi + i)));
            b = _mm512_dpbf16_ps(b, wv, (__m512bh)_mm512_loadu_si512((const void *)(lo + i)));
        }
        float s = _mm512_reduce_add_ps(_mm512_add_ps(a, b));
        for (size_t i = main; i < in; i++) s += bf16_to_f32_1(row[i]) * x[i];
        y[o] = s;
    }
}

// Q8_0 × Q8_0 with vpdpbusd on 256-bit vectors (one block each): |w| · sign(x, w) summed in groups of four
// straight into int32, where AVX2 needs maddubs then madd.
TVNNI static inline __m256 q8_block_vnni(__m256 acc, const uint8_t *wb, const uint8_t *xb) {
    __m256i qw = _mm256_loadu_si256((const __m256i *)(wb + 2));
    __m256i qx = _mm256_loadu_si256((const __m256i *)(xb + 2));
    __m256i s32 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
    uint16_t dw, dx; memcpy(&dw, wb, 2); memcpy(&dx, xb, 2);
    return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(dw) * _cvtsh_ss(dx)), _mm256_cvtepi32_ps(s32), acc);
}

TVNNI void omni_mv_q8_0_q8_vnni(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    OMNI_Q8_ROWS(q8_block_vnni);
}
#endif
