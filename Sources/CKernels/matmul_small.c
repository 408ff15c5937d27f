// Small-batch products y[m, out] = x[m, in] · W[out, in]ᵀ for batched decode (2 ≤ m ≤ 16 sessions' rows): each
// weight row is read from memory once for all m rows (matvec per row would stream the matrix m times). Every
// (row, output) dot keeps exactly the accumulator layout and order of the single-row kernel in matvec.c, so row r
// of the batch equals the matvec of row r bit for bit: a session's tokens do not depend on who it is batched with.
// Rows are taken in groups small enough for their accumulators to stay in registers; the weight row is then
// re-read from L1 per group. Paths without a batched kernel here (AVX-512 BF16 / VNNI, portable) call the
// single-row kernels row by row.
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"

#define INLINE static inline __attribute__((always_inline))

// f32: omni_dot_avx2's two accumulators over 16 floats, per row of the group.
X86_TARGET("avx2,fma") INLINE void mm_f32_group(const float *wr, const float *x, float *y, size_t in, size_t out,
                                                 size_t o, const size_t n) {
    __m256 a0[4], a1[4];
    for (size_t r = 0; r < n; r++) { a0[r] = _mm256_setzero_ps(); a1[r] = _mm256_setzero_ps(); }
    size_t i = 0;
    for (; i + 16 <= in; i += 16) {
        __m256 w0 = _mm256_loadu_ps(wr + i), w1 = _mm256_loadu_ps(wr + i + 8);
        for (size_t r = 0; r < n; r++) {
            a0[r] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + r * in + i), a0[r]);
            a1[r] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + r * in + i + 8), a1[r]);
        }
    }
    for (size_t r = 0; r < n; r++) {
        float s = omni_hsum8(_mm256_add_ps(a0[r], a1[r]));
        for (size_t j = i; j < in; j++) s += wr[j] * x[r * in + j];
        y[r * out + o] = s;
    }
}

X86_TARGET("avx2,fma") static void mm_f32_avx2(const float *w, const float *x, float *y, size_t in, size_t out,
                                                size_t m, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) {
        const float *wr = w + o * in;
        size_t g = 0;
        for (; g + 4 <= m; g += 4) mm_f32_group(wr, x + g * in, y + g * out, in, out, o, 4);
        switch (m - g) {
        case 3: mm_f32_group(wr, x + g * in, y + g * out, in, out, o, 3); break;
        case 2: mm_f32_group(wr, x + g * in, y + g * out, in, out, o, 2); break;
        case 1: mm_f32_group(wr, x + g * in, y + g * out, in, out, o, 1); break;
        default: break;
        }
    }
}

// bf16 against x prepared even/odd per 16 (bf16_prepare_avx2): mv_bf16_rows' four accumulators per row.
X86_TARGET("avx2,fma") INLINE void mm_bf16_group(const uint16_t *ra, const float *xp, const float *x, float *y,
                                                  size_t in, size_t out, size_t o, const size_t n) {
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    const size_t main = in / 16 * 16, main32 = in / 32 * 32;
    __m256 a0[2], a1[2], b0[2], b1[2];
    for (size_t r = 0; r < n; r++) { a0[r] = a1[r] = b0[r] = b1[r] = _mm256_setzero_ps(); }
    size_t i = 0;
    for (; i < main32; i += 32) {
        _mm_prefetch((const char *)(ra + i) + MV_PREFETCH, _MM_HINT_T0);
        __m256i v = _mm256_loadu_si256((const __m256i *)(ra + i));
        __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), wo = _mm256_castsi256_ps(_mm256_and_si256(v, hi));
        __m256i u = _mm256_loadu_si256((const __m256i *)(ra + i + 16));
        __m256 ue = _mm256_castsi256_ps(_mm256_slli_epi32(u, 16)), uo = _mm256_castsi256_ps(_mm256_and_si256(u, hi));
        for (size_t r = 0; r < n; r++) {
            const float *p = xp + r * in + i;
            a0[r] = _mm256_fmadd_ps(we, _mm256_loadu_ps(p), a0[r]);
            a1[r] = _mm256_fmadd_ps(wo, _mm256_loadu_ps(p + 8), a1[r]);
            b0[r] = _mm256_fmadd_ps(ue, _mm256_loadu_ps(p + 16), b0[r]);
            b1[r] = _mm256_fmadd_ps(uo, _mm256_loadu_ps(p + 24), b1[r]);
        }
    }
    for (; i < main; i += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(ra + i));
        __m256 we = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), wo = _mm256_castsi256_ps(_mm256_and_si256(v, hi));
        for (size_t r = 0; r < n; r++) {
            a0[r] = _mm256_fmadd_ps(we, _mm256_loadu_ps(xp + r * in + i), a0[r]);
            a1[r] = _mm256_fmadd_ps(wo, _mm256_loadu_ps(xp + r * in + i + 8), a1[r]);
        }
    }
    for (size_t r = 0; r < n; r++) {
        float s = omni_hsum8(_mm256_add_ps(_mm256_add_ps(a0[r], a1[r]), _mm256_add_ps(b0[r], b1[r])));
        for (size_t j = main; j < in; j++) s += bf16_to_f32_1(ra[j]) * x[r * in + j];
        y[r * out + o] = s;
    }
}

X86_TARGET("avx2,fma") static void mm_bf16_avx2(const uint16_t *w, const float *xp, const float *x, float *y, size_t in,
                                                 size_t out, size_t m, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) {
        const uint16_t *ra = w + o * in;
        size_t g = 0;
        for (; g + 2 <= m; g += 2) mm_bf16_group(ra, xp + g * in, x + g * in, y + g * out, in, out, o, 2);
        if (g < m) mm_bf16_group(ra, xp + g * in, x + g * in, y + g * out, in, out, o, 1);
    }
}

// Q8_0 × Q8_0: OMNI_Q8_ROWS' two accumulators (even and odd blocks) per row, q8_block_avx2's arithmetic.
X86_TARGET("avx2,fma,f16c") INLINE __m256 q8_dot_block(__m256 acc, __m256i aw, __m256i qw, float dw, const uint8_t *xb) {
    __m256i qx = _mm256_loadu_si256((const __m256i *)(xb + 2));
    __m256i d16 = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(qx, qw));
    __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(d16, _mm256_set1_epi16(1)));
    uint16_t dx; memcpy(&dx, xb, 2);
    return _mm256_fmadd_ps(_mm256_set1_ps(dw * _cvtsh_ss(dx)), dot, acc);
}

X86_TARGET("avx2,fma,f16c") INLINE void mm_q8_group(const uint8_t *row, const uint8_t *xq, size_t xstride, float *y,
                                                    size_t nb, size_t out, size_t o, const size_t n) {
    __m256 acc0[4], acc1[4];
    for (size_t r = 0; r < n; r++) { acc0[r] = _mm256_setzero_ps(); acc1[r] = _mm256_setzero_ps(); }
    size_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        _mm_prefetch((const char *)(row + b * 34) + MV_PREFETCH, _MM_HINT_T0);
        const uint8_t *w0 = row + b * 34, *w1 = w0 + 34;
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(w0 + 2)), q1 = _mm256_loadu_si256((const __m256i *)(w1 + 2));
        __m256i s0 = _mm256_sign_epi8(q0, q0), s1 = _mm256_sign_epi8(q1, q1);
        uint16_t h0, h1; memcpy(&h0, w0, 2); memcpy(&h1, w1, 2);
        float d0 = _cvtsh_ss(h0), d1 = _cvtsh_ss(h1);
        for (size_t r = 0; r < n; r++) {
            acc0[r] = q8_dot_block(acc0[r], s0, q0, d0, xq + r * xstride + b * 34);
            acc1[r] = q8_dot_block(acc1[r], s1, q1, d1, xq + r * xstride + b * 34 + 34);
        }
    }
    if (b < nb) {
        const uint8_t *w0 = row + b * 34;
        __m256i q0 = _mm256_loadu_si256((const __m256i *)(w0 + 2)), s0 = _mm256_sign_epi8(q0, q0);
        uint16_t h0; memcpy(&h0, w0, 2);
        float d0 = _cvtsh_ss(h0);
        for (size_t r = 0; r < n; r++) acc0[r] = q8_dot_block(acc0[r], s0, q0, d0, xq + r * xstride + b * 34);
    }
    for (size_t r = 0; r < n; r++) y[r * out + o] = omni_hsum8(_mm256_add_ps(acc0[r], acc1[r]));
}

X86_TARGET("avx2,fma,f16c") static void mm_q8_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out,
                                                    size_t m, size_t r0, size_t r1) {
    const size_t nb = in / 32, xs = nb * 34;
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * 34;
        size_t g = 0;
        for (; g + 4 <= m; g += 4) mm_q8_group(row, xq + g * xs, xs, y + g * out, nb, out, o, 4);
        switch (m - g) {
        case 3: mm_q8_group(row, xq + g * xs, xs, y + g * out, nb, out, o, 3); break;
        case 2: mm_q8_group(row, xq + g * xs, xs, y + g * out, nb, out, o, 2); break;
        case 1: mm_q8_group(row, xq + g * xs, xs, y + g * out, nb, out, o, 1); break;
        default: break;
        }
    }
}
#endif

void omni_matmul_small_f32(const float *w, const float *x, float *y, size_t in, size_t out, size_t m, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mm_f32_avx2(w, x, y, in, out, m, r0, r1); return; }
#endif
    for (size_t r = 0; r < m; r++) omni_matvec_f32(w, x + r * in, y + r * out, in, r0, r1);
}

void omni_matmul_small_bf16_prepared(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t out,
                                     size_t m, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if ((omni_cpu_features() & OMNI_CPU_AVX2) && !(omni_cpu_features() & OMNI_CPU_AVX512BF16)) {
        mm_bf16_avx2(w, xp, x, y, in, out, m, r0, r1);
        return;
    }
#endif
    for (size_t r = 0; r < m; r++) omni_matvec_bf16_prepared(w, xp + r * in, x + r * in, y + r * out, in, r0, r1);
}

void omni_matmul_small_q8_0(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                            size_t r0, size_t r1) {
#if defined(__x86_64__)
    if ((omni_cpu_features() & OMNI_CPU_AVX2) && !(omni_cpu_features() & OMNI_CPU_VNNI)) {
        mm_q8_avx2(w, xq, y, in, out, m, r0, r1);
        return;
    }
#endif
    const size_t xs = in / 32 * 34;
    for (size_t r = 0; r < m; r++) omni_matvec_q8_0(w, NULL, xq + r * xs, y + r * out, in, r0, r1);
}
