// Q8_0 weights with rows interleaved by 8 (the `q8_0Rows8` layout): one kernel family for single-row decode and
// the small-batch product, so a batched row equals its single-row result bit for bit.
//
// Layout of W [out, in] (out % 8 == 0, in % 32 == 0), group g = rows 8g … 8g+7, block b = columns 32b … 32b+31:
// 272 bytes at (g·nb + b)·272, nb = in/32: the 8 rows' f16 scales (16 bytes), then 8 runs of 32 bytes, run k
// holding quants 4k … 4k+3 of rows 0 … 7 (4 bytes each). Same byte count as the standard layout.
//
// Arithmetic, per output row (a lane) and row of x: for every block, the exact int32 sum of the 32 products
// q_w·q_x, then acc = fma(d_w·d_x, (float)sum, acc) in block order (d_w·d_x one f32 product). One 4-byte broadcast
// of x's quants and one 32-byte load of W feed 8 output rows; the block's sum needs no horizontal reduction, and
// the float work is one multiply, one conversion and one FMA per 8 rows and block. Integer sums are exact on every
// path (AVX2 maddubs pairs stay below 2^15 since x's quants are in [-127, 127]), and the float steps are the same
// correctly rounded operations, so the AVX2 and portable paths agree bit for bit, for any number of rows.
// Dispatch: AVX2 (VNNI machines included) or portable.
//
// Q4_0 (`q4_0Rows8`, the same idea): per group and block 144 bytes: the 8 rows' f16 scales, then 4 runs of 32 bytes,
// run k holding nibble bytes 4k … 4k+3 of rows 0 … 7 (low nibbles: values 4k … 4k+3, high: 16+4k … 16+4k+3, each
// biased by 8). The unsigned nibbles go straight into maddubs against x's quants, and −8·Σ q_x of the block (one
// int32 per row of x and block, made once per call) turns the lane sums into Σ (nibble − 8)·q_x: exact again.
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif
#pragma STDC FP_CONTRACT OFF

#define R8_BLOCK 272
#define R4_BLOCK 144

/* Rows in groups of 8, block by block: the 8 rows' f16 scales first, then their quant words 4 bytes at a time, row
 * by row (`words` words of 4 bytes per block: 8 for Q8_0's 32 bytes, 4 for Q4_0's 16). `pack` moves stored blocks of
 * `block` bytes into interleaved groups of `group` bytes; otherwise back. */
static void r8_shuffle(const uint8_t *src, uint8_t *dst, size_t in, size_t rows, size_t block, size_t words, size_t group,
                       int pack) {
    const size_t nb = in / 32;
    for (size_t g = 0; g < rows / 8; g++)
        for (size_t b = 0; b < nb; b++) {
            const size_t inter = (g * nb + b) * group;
            for (size_t r = 0; r < 8; r++) {
                const size_t stored = ((g * 8 + r) * nb + b) * block;
                if (pack) {
                    memcpy(dst + inter + 2 * r, src + stored, 2);
                    for (size_t k = 0; k < words; k++) memcpy(dst + inter + 16 + 32 * k + 4 * r, src + stored + 2 + 4 * k, 4);
                } else {
                    memcpy(dst + stored, src + inter + 2 * r, 2);
                    for (size_t k = 0; k < words; k++) memcpy(dst + stored + 2 + 4 * k, src + inter + 16 + 32 * k + 4 * r, 4);
                }
            }
        }
}

void omni_q8_0_r8_pack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows) {
    r8_shuffle(src, dst, in, rows, 34, 8, R8_BLOCK, 1);
}

void omni_q8_0_r8_unpack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows) {
    r8_shuffle(src, dst, in, rows, 34, 8, R8_BLOCK, 0);
}

void omni_q8_0_r8_dequantize_rows(const uint8_t *w, float *dst, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        const size_t g = o / 8, r = o % 8;
        float *row = dst + (o - r0) * in;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = w + (g * nb + b) * R8_BLOCK;
            uint16_t h; memcpy(&h, blk + 2 * r, 2);
            const float d = f16_to_f32_1(h);
            for (size_t k = 0; k < 8; k++)
                for (size_t j = 0; j < 4; j++) row[b * 32 + 4 * k + j] = d * (float)(int8_t)blk[16 + 32 * k + 4 * r + j];
        }
    }
}

void omni_q4_0_r8_pack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows) {
    r8_shuffle(src, dst, in, rows, 18, 4, R4_BLOCK, 1);
}

void omni_q4_0_r8_unpack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows) {
    r8_shuffle(src, dst, in, rows, 18, 4, R4_BLOCK, 0);
}

void omni_q4_0_r8_dequantize_rows(const uint8_t *w, float *dst, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        const size_t g = o / 8, r = o % 8;
        float *row = dst + (o - r0) * in;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = w + (g * nb + b) * R4_BLOCK;
            uint16_t h; memcpy(&h, blk + 2 * r, 2);
            const float d = f16_to_f32_1(h);
            for (size_t k = 0; k < 4; k++)
                for (size_t j = 0; j < 4; j++) {
                    const uint8_t v = blk[16 + 32 * k + 4 * r + j];
                    row[b * 32 + 4 * k + j] = d * (float)((int)(v & 0x0f) - 8);
                    row[b * 32 + 16 + 4 * k + j] = d * (float)((int)(v >> 4) - 8);
                }
        }
    }
}

// ---------------- portable: the same operations lane by lane ----------------
static void r8_group_c(const uint8_t *wg, const uint8_t *xq, const float *sx, size_t nb, size_t m, size_t out,
                       float *y, size_t lo, size_t hi) {
    for (size_t i = 0; i < m; i++) {
        float acc[8] = {0};
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = wg + b * R8_BLOCK, *xb = xq + (i * nb + b) * 34 + 2;
            for (size_t r = 0; r < 8; r++) {
                uint16_t h; memcpy(&h, blk + 2 * r, 2);
                int32_t s = 0;
                for (size_t k = 0; k < 8; k++)
                    for (size_t j = 0; j < 4; j++) s += (int32_t)(int8_t)blk[16 + 32 * k + 4 * r + j] * (int32_t)(int8_t)xb[4 * k + j];
                const float scale = f16_to_f32_1(h) * sx[i * nb + b];
                acc[r] = fmaf(scale, (float)s, acc[r]);
            }
        }
        for (size_t r = lo; r < hi; r++) y[i * out + r] = acc[r];
    }
}

// cx: −8·Σ q_x per row of x and block.
static void r4_group_c(const uint8_t *wg, const uint8_t *xq, const float *sx, const int32_t *cx, size_t nb, size_t m,
                       size_t out, float *y, size_t lo, size_t hi) {
    for (size_t i = 0; i < m; i++) {
        float acc[8] = {0};
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *blk = wg + b * R4_BLOCK, *xb = xq + (i * nb + b) * 34 + 2;
            for (size_t r = 0; r < 8; r++) {
                uint16_t h; memcpy(&h, blk + 2 * r, 2);
                int32_t s = cx[i * nb + b];
                for (size_t k = 0; k < 4; k++)
                    for (size_t j = 0; j < 4; j++) {
                        const uint8_t v = blk[16 + 32 * k + 4 * r + j];
                        s += (int32_t)(v & 0x0f) * (int32_t)(int8_t)xb[4 * k + j] + (int32_t)(v >> 4) * (int32_t)(int8_t)xb[16 + 4 * k + j];
                    }
                const float scale = f16_to_f32_1(h) * sx[i * nb + b];
                acc[r] = fmaf(scale, (float)s, acc[r]);
            }
        }
        for (size_t r = lo; r < hi; r++) y[i * out + r] = acc[r];
    }
}

#if defined(__x86_64__)
#define INLINE static inline __attribute__((always_inline))
// R rows of x against one group of 8 weight rows; lanes lo … hi-1 of the group are stored (a task's row range may
// start or end inside a group). sx: x's scales widened to f32, row i's at sx + i·nb. DOT(s, aw, sx) adds the
// products of |w| and sign(x, w) in groups of four to the int32 lanes of s (maddubs, then madd with ones). Machines
// with VNNI run this AVX2 path too: a vpdpbusd DOT would give the same bits (the sums are exact) in fewer
// instructions, but no VNNI machine was at hand to check it, so it is not written.
#define R8_TILE(NAME, TARGET, DOT) \
X86_TARGET(TARGET) INLINE void NAME(const uint8_t *wg, const uint8_t *xq, const float *sx, size_t nb, size_t out, \
                                    float *y, size_t lo, size_t hi, const size_t R) { \
    __m256 acc[8]; \
    for (size_t i = 0; i < R; i++) acc[i] = _mm256_setzero_ps(); \
    for (size_t b = 0; b < nb; b++) { \
        const uint8_t *blk = wg + b * R8_BLOCK; \
        _mm_prefetch((const char *)blk + MV_PREFETCH, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 64, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 128, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 192, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 256, _MM_HINT_T0); \
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk)); \
        __m256i s[8]; \
        for (size_t i = 0; i < R; i++) s[i] = _mm256_setzero_si256(); \
        for (size_t k = 0; k < 8; k++) { \
            const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * k)), aw = _mm256_sign_epi8(w, w); \
            for (size_t i = 0; i < R; i++) { \
                int32_t xv; memcpy(&xv, xq + (i * nb + b) * 34 + 2 + 4 * k, 4); \
                s[i] = DOT(s[i], aw, _mm256_sign_epi8(_mm256_set1_epi32(xv), w)); \
            } \
        } \
        for (size_t i = 0; i < R; i++) \
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(sx + i * nb + b)), _mm256_cvtepi32_ps(s[i]), acc[i]); \
    } \
    for (size_t i = 0; i < R; i++) { \
        if (lo == 0 && hi == 8) { _mm256_storeu_ps(y + i * out, acc[i]); continue; } \
        float t[8]; \
        _mm256_storeu_ps(t, acc[i]); \
        for (size_t r = lo; r < hi; r++) y[i * out + r] = t[r]; \
    } \
}

// Every group of rows r0 … r1-1 against all m rows of x: tiles of 8, 4, 2, 1 rows of x (the group's 272-byte blocks
// are re-read from L1/L2 by the later tiles).
#define R8_ROWS(NAME, TARGET, TILE) \
X86_TARGET(TARGET) static void NAME(const uint8_t *w, const uint8_t *xq, const float *sx, float *y, size_t in, \
                                    size_t out, size_t m, size_t r0, size_t r1) { \
    const size_t nb = in / 32; \
    for (size_t g = r0 / 8; g * 8 < r1; g++) { \
        const uint8_t *wg = w + g * nb * R8_BLOCK; \
        const size_t lo = g * 8 < r0 ? r0 - g * 8 : 0, hi = g * 8 + 8 > r1 ? r1 - g * 8 : 8; \
        float *yg = y + g * 8; \
        size_t i = 0; \
        for (; i + 8 <= m; i += 8) TILE(wg, xq + i * nb * 34, sx + i * nb, nb, out, yg + i * out, lo, hi, 8); \
        if (i + 4 <= m) { TILE(wg, xq + i * nb * 34, sx + i * nb, nb, out, yg + i * out, lo, hi, 4); i += 4; } \
        if (i + 2 <= m) { TILE(wg, xq + i * nb * 34, sx + i * nb, nb, out, yg + i * out, lo, hi, 2); i += 2; } \
        if (i < m) TILE(wg, xq + i * nb * 34, sx + i * nb, nb, out, yg + i * out, lo, hi, 1); \
    } \
}

#define R8_DOT_AVX2(s, aw, sx) _mm256_add_epi32((s), _mm256_madd_epi16(_mm256_maddubs_epi16((aw), (sx)), _mm256_set1_epi16(1)))
R8_TILE(r8_tile_avx2, "avx2,fma,f16c", R8_DOT_AVX2)
R8_ROWS(r8_avx2, "avx2,fma,f16c", r8_tile_avx2)

// Q4_0: two maddubs per run (low nibbles against x's values 4k…, high against 16+4k…); the lanes start from cx.
#define R4_DOT_AVX2(s, nib, xv) _mm256_add_epi32((s), _mm256_madd_epi16(_mm256_maddubs_epi16((nib), (xv)), _mm256_set1_epi16(1)))
#define R4_TILE(NAME, TARGET, DOT) \
X86_TARGET(TARGET) INLINE void NAME(const uint8_t *wg, const uint8_t *xq, const float *sx, const int32_t *cx, size_t nb, \
                                    size_t out, float *y, size_t lo, size_t hi, const size_t R) { \
    const __m256i low = _mm256_set1_epi8(0x0f); \
    __m256 acc[8]; \
    for (size_t i = 0; i < R; i++) acc[i] = _mm256_setzero_ps(); \
    for (size_t b = 0; b < nb; b++) { \
        const uint8_t *blk = wg + b * R4_BLOCK; \
        _mm_prefetch((const char *)blk + MV_PREFETCH, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 64, _MM_HINT_T0); \
        _mm_prefetch((const char *)blk + MV_PREFETCH + 128, _MM_HINT_T0); \
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk)); \
        __m256i s[8]; \
        for (size_t i = 0; i < R; i++) s[i] = _mm256_set1_epi32(cx[i * nb + b]); \
        for (size_t k = 0; k < 4; k++) { \
            const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * k)); \
            const __m256i nl = _mm256_and_si256(v, low), nh = _mm256_and_si256(_mm256_srli_epi16(v, 4), low); \
            for (size_t i = 0; i < R; i++) { \
                int32_t xl, xh; \
                memcpy(&xl, xq + (i * nb + b) * 34 + 2 + 4 * k, 4); \
                memcpy(&xh, xq + (i * nb + b) * 34 + 18 + 4 * k, 4); \
                s[i] = DOT(s[i], nl, _mm256_set1_epi32(xl)); \
                s[i] = DOT(s[i], nh, _mm256_set1_epi32(xh)); \
            } \
        } \
        for (size_t i = 0; i < R; i++) \
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(sx + i * nb + b)), _mm256_cvtepi32_ps(s[i]), acc[i]); \
    } \
    for (size_t i = 0; i < R; i++) { \
        if (lo == 0 && hi == 8) { _mm256_storeu_ps(y + i * out, acc[i]); continue; } \
        float t[8]; \
        _mm256_storeu_ps(t, acc[i]); \
        for (size_t r = lo; r < hi; r++) y[i * out + r] = t[r]; \
    } \
}
#define R4_ROWS(NAME, TARGET, TILE) \
X86_TARGET(TARGET) static void NAME(const uint8_t *w, const uint8_t *xq, const float *sx, const int32_t *cx, float *y, \
                                    size_t in, size_t out, size_t m, size_t r0, size_t r1) { \
    const size_t nb = in / 32; \
    for (size_t g = r0 / 8; g * 8 < r1; g++) { \
        const uint8_t *wg = w + g * nb * R4_BLOCK; \
        const size_t lo = g * 8 < r0 ? r0 - g * 8 : 0, hi = g * 8 + 8 > r1 ? r1 - g * 8 : 8; \
        float *yg = y + g * 8; \
        size_t i = 0; \
        for (; i + 8 <= m; i += 8) TILE(wg, xq + i * nb * 34, sx + i * nb, cx + i * nb, nb, out, yg + i * out, lo, hi, 8); \
        if (i + 4 <= m) { TILE(wg, xq + i * nb * 34, sx + i * nb, cx + i * nb, nb, out, yg + i * out, lo, hi, 4); i += 4; } \
        if (i + 2 <= m) { TILE(wg, xq + i * nb * 34, sx + i * nb, cx + i * nb, nb, out, yg + i * out, lo, hi, 2); i += 2; } \
        if (i < m) TILE(wg, xq + i * nb * 34, sx + i * nb, cx + i * nb, nb, out, yg + i * out, lo, hi, 1); \
    } \
}
R4_TILE(r4_tile_avx2, "avx2,fma,f16c", R4_DOT_AVX2)
R4_ROWS(r4_avx2, "avx2,fma,f16c", r4_tile_avx2)
#endif

// x's f16 scales widened once per call (exact); on the stack up to R8_SCALES.
#define R8_SCALES 8192

void omni_q8_0_widen_scales(const uint8_t *xq, float *sx, size_t blocks) {
    for (size_t i = 0; i < blocks; i++) { uint16_t h; memcpy(&h, xq + i * 34, 2); sx[i] = f16_to_f32_1(h); }
}

void omni_matmul_small_q8_0_r8_widened(const uint8_t *w, const uint8_t *xq, const float *sx, float *y, size_t in,
                                       size_t out, size_t m, size_t r0, size_t r1) {
    const size_t nb = in / 32;
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) {
        r8_avx2(w, xq, sx, y, in, out, m, r0, r1);
        return;
    }
#endif
    for (size_t g = r0 / 8; g * 8 < r1; g++) {
        const size_t lo = g * 8 < r0 ? r0 - g * 8 : 0, hi = g * 8 + 8 > r1 ? r1 - g * 8 : 8;
        r8_group_c(w + g * nb * R8_BLOCK, xq, sx, nb, m, out, y + g * 8, lo, hi);
    }
}

void omni_matmul_small_q8_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                               size_t r0, size_t r1) {
    const size_t n = m * (in / 32);
    float stack[R8_SCALES];
    float *sx = n <= R8_SCALES ? stack : (float *)malloc(n * sizeof(float));
    if (!sx) abort();
    omni_q8_0_widen_scales(xq, sx, n);
    omni_matmul_small_q8_0_r8_widened(w, xq, sx, y, in, out, m, r0, r1);
    if (sx != stack) free(sx);
}

void omni_matvec_q8_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    omni_matmul_small_q8_0_r8(w, xq, y, in, 0, 1, r0, r1);
}

void omni_matmul_small_q4_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                               size_t r0, size_t r1) {
    const size_t nb = in / 32, n = m * nb;
    float stack[R8_SCALES];
    int32_t cstack[R8_SCALES];
    float *sx = n <= R8_SCALES ? stack : (float *)malloc(n * sizeof(float));
    int32_t *cx = n <= R8_SCALES ? cstack : (int32_t *)malloc(n * sizeof(int32_t));
    if (!sx || !cx) abort();
    for (size_t i = 0; i < n; i++) {
        uint16_t h; memcpy(&h, xq + i * 34, 2);
        sx[i] = f16_to_f32_1(h);
        int32_t c = 0;
        for (size_t j = 0; j < 32; j++) c += (int8_t)xq[i * 34 + 2 + j];
        cx[i] = -8 * c;
    }
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) r4_avx2(w, xq, sx, cx, y, in, out, m, r0, r1);
    else
#endif
    for (size_t g = r0 / 8; g * 8 < r1; g++) {
        const size_t lo = g * 8 < r0 ? r0 - g * 8 : 0, hi = g * 8 + 8 > r1 ? r1 - g * 8 : 8;
        r4_group_c(w + g * nb * R4_BLOCK, xq, sx, cx, nb, m, out, y + g * 8, lo, hi);
    }
    if (sx != stack) free(sx);
    if (cx != cstack) free(cx);
}

void omni_matvec_q4_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    omni_matmul_small_q4_0_r8(w, xq, y, in, 0, 1, r0, r1);
}
