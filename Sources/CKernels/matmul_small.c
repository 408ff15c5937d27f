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

// Q8_0 × Q8_0 for up to 4 rows: OMNI_Q8_ROWS' two accumulators (even and odd blocks) per row, q8_block_avx2's
// arithmetic, groups of up to four rows against each weight row.
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

X86_TARGET("avx2,fma,f16c") static void mm_q8_groups_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out,
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

// Q8_0 × Q8_0 for 5+ rows. The single-row kernel (OMNI_Q8_ROWS over q8_block_avx2) keeps two accumulators per dot,
// acc0 for the even blocks and acc1 for the odd ones, adds d_w·d_x (an f32 product) times the block's int32 lanes
// with one FMA each, and returns hsum(acc0 + acc1). The two chains never meet before that sum, so they run here as
// two passes (even blocks, then odd blocks) with one accumulator per dot, for up to 8 batch rows against one weight
// row: each weight block is loaded, made absolute and its scale widened once for all of them. x's scales are
// widened to f32 once per call (exact), so a block costs a row six vector ops (sign, maddubs, madd, cvt, scale
// product, FMA). The passes go over Q8_KCHUNK blocks at a time so the rows' x blocks stay in L1 for the second.
// Same integers, same f32 products, same FMA chains in the same order, same final sum: bit-identical.
#define Q8_KCHUNK 64

X86_TARGET("avx2,fma,f16c") INLINE void mm_q8_pass(const uint8_t *wrow, const uint8_t *xq, const float *sx, size_t nb,
                                                    size_t b0, size_t b1, __m256 *acc, const size_t R) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t b = b0; b < b1; b += 2) {
        __m256i qw = _mm256_loadu_si256((const __m256i *)(wrow + b * 34 + 2)), aw = _mm256_sign_epi8(qw, qw);
        uint16_t h; memcpy(&h, wrow + b * 34, 2);
        __m256 dw = _mm256_set1_ps(_cvtsh_ss(h));
        for (size_t r = 0; r < R; r++) {
            __m256i qx = _mm256_loadu_si256((const __m256i *)(xq + (r * nb + b) * 34 + 2));
            __m256i d16 = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(qx, qw));
            __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(d16, ones));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(sx + r * nb + b)), dot, acc[r]);
        }
    }
}

// y[r, o] for R rows (x blocks and f32 scales of row r at xq + r·nb·34, sx + r·nb) against weight row o.
X86_TARGET("avx2,fma,f16c") INLINE void mm_q8_tile(const uint8_t *wrow, const uint8_t *xq, const float *sx, float *y,
                                                    size_t nb, size_t out, const size_t R) {
    __m256 even[8], odd[8];
    for (size_t r = 0; r < R; r++) even[r] = odd[r] = _mm256_setzero_ps();
    for (size_t c = 0; c < nb; c += Q8_KCHUNK) {
        const size_t end = c + Q8_KCHUNK < nb ? c + Q8_KCHUNK : nb;
        mm_q8_pass(wrow, xq, sx, nb, c, end, even, R);
        mm_q8_pass(wrow, xq, sx, nb, c + 1, end, odd, R);
    }
    for (size_t r = 0; r < R; r++) y[r * out] = omni_hsum8(_mm256_add_ps(even[r], odd[r]));
}

// Most f32 scales of x kept on the stack (m × in/32); larger products take the one-pass groups.
#define Q8_SCALE_STACK 16384

X86_TARGET("avx2,fma,f16c") static int mm_q8_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out,
                                                   size_t m, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    if (m * nb > Q8_SCALE_STACK) return 0;
    float sx[Q8_SCALE_STACK];
    for (size_t i = 0; i < m * nb; i++) { uint16_t h; memcpy(&h, xq + i * 34, 2); sx[i] = _cvtsh_ss(h); }
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *wrow = w + o * nb * 34;
        size_t rr = 0;
        for (; rr + 8 <= m; rr += 8) mm_q8_tile(wrow, xq + rr * nb * 34, sx + rr * nb, y + rr * out + o, nb, out, 8);
        const uint8_t *xr = xq + rr * nb * 34;
        const float *sr = sx + rr * nb;
        float *yr = y + rr * out + o;
        switch (m - rr) {
        case 7: mm_q8_tile(wrow, xr, sr, yr, nb, out, 7); break;
        case 6: mm_q8_tile(wrow, xr, sr, yr, nb, out, 6); break;
        case 5: mm_q8_tile(wrow, xr, sr, yr, nb, out, 5); break;
        case 4: mm_q8_tile(wrow, xr, sr, yr, nb, out, 4); break;
        case 3: mm_q8_tile(wrow, xr, sr, yr, nb, out, 3); break;
        case 2: mm_q8_tile(wrow, xr, sr, yr, nb, out, 2); break;
        case 1: mm_q8_tile(wrow, xr, sr, yr, nb, out, 1); break;
        default: break;
        }
    }
    return 1;
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
        // 5+ rows: the two-pass tiles (fewer ops per block: 1.13-1.27x at 8 rows in a kernel-only A/B); up to
        // 4 rows: the one-pass groups (the two-pass tiles measured no faster there).
        if (m >= 5 && mm_q8_avx2(w, xq, y, in, out, m, r0, r1)) return;
        mm_q8_groups_avx2(w, xq, y, in, out, m, r0, r1);
        return;
    }
#endif
    const size_t xs = in / 32 * 34;
    for (size_t r = 0; r < m; r++) omni_matvec_q8_0(w, NULL, xq + r * xs, y + r * out, in, r0, r1);
}
