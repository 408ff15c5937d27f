// Decode-path matrix-vector products over f32 / bf16 / f16 / Q8_0 weight rows (Q4_0: matvec_q4.c).
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#define h2f f16_to_f32_1
#define b2f bf16_to_f32_1
#define f2h f32_to_f16_1
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif


static void mv_bf16_c(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1);

#if defined(__x86_64__)
X86_TARGET("avx2,fma,f16c") static void mv_f32_avx2(const float *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) y[o] = omni_dot_avx2(w + o * in, x, in);
}

// One row of a bf16 block dot against x reordered even/odd per 16 (see mv_bf16_avx2): the 32-bit lane k of
// a 16-element load holds elements 2k (low half) and 2k+1 (high half), so `<< 16` widens the even elements
// and `& 0xffff0000` the odd ones; no shuffle (the port AVX2 widening needs) per element.
#define BF16_ROW_STEP(acc0, acc1, p) do { \
        __m256i v_ = _mm256_loadu_si256((const __m256i *)(p)); \
        acc0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v_, 16)), xe, acc0); \
        acc1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v_, hi)), xo, acc1); \
    } while (0)

X86_TARGET("avx2,fma,f16c") static void mv_bf16_rows(const uint16_t *w, const float *xp, const float *x, float *y,
                                                    size_t in, size_t r0, size_t r1) {
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    const size_t main = in / 16 * 16, main32 = in / 32 * 32;
    for (size_t o = r0; o < r1; o++) {
        const uint16_t *ra = w + o * in;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        size_t i = 0;
        for (; i < main32; i += 32) {
            _mm_prefetch((const char *)(ra + i) + MV_PREFETCH, _MM_HINT_T0);
            __m256 xe = _mm256_loadu_ps(xp + i), xo = _mm256_loadu_ps(xp + i + 8);
            BF16_ROW_STEP(a0, a1, ra + i);
            xe = _mm256_loadu_ps(xp + i + 16); xo = _mm256_loadu_ps(xp + i + 24);
            BF16_ROW_STEP(b0, b1, ra + i + 16);
        }
        for (; i < main; i += 16) {
            __m256 xe = _mm256_loadu_ps(xp + i), xo = _mm256_loadu_ps(xp + i + 8);
            BF16_ROW_STEP(a0, a1, ra + i);
        }
        float sa = omni_hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(b0, b1)));
        for (i = main; i < in; i++) sa += b2f(ra[i]) * x[i];
        y[o] = sa;
    }
}
#undef BF16_ROW_STEP

X86_TARGET("avx2") static void bf16_prepare_avx2(const float *x, float *xp, size_t in) {
    // Per 16: the 8 even elements, then the 8 odd ones (summation order differs from the scalar loop only by
    // float reassociation, as any SIMD dot does). Two loads, an in-lane shuffle pair and a cross-lane permute.
    const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
    size_t i = 0;
    for (; i + 16 <= in; i += 16) {
        __m256 lo = _mm256_loadu_ps(x + i), hi = _mm256_loadu_ps(x + i + 8);
        __m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));   // x0 x2 x8 x10 | x4 x6 x12 x14
        __m256 od = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
        _mm256_storeu_ps(xp + i, _mm256_permutevar8x32_ps(ev, perm));
        _mm256_storeu_ps(xp + i + 8, _mm256_permutevar8x32_ps(od, perm));
    }
    for (; i < in; i++) xp[i] = x[i];
}

X86_TARGET("avx2,fma,f16c") static void mv_f16_avx2(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) {
        const uint16_t *row = w + o * in;
        __m256 a0 = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= in; i += 8)
            a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + i))), _mm256_loadu_ps(x + i), a0);
        float s = omni_hsum8(a0);
        for (; i < in; i++) s += h2f(row[i]) * x[i];
        y[o] = s;
    }
}

// Q8_0 x Q8_0 block dot (llama.cpp's ggml_vec_dot_q8_0_q8_0 idea): |w| * sign(x, w) via maddubs, then madd
// with ones to sum groups of four into int32; scales through F16C.
X86_TARGET("avx2,fma,f16c") static inline __m256 q8_block_avx2(__m256 acc, const uint8_t *wb, const uint8_t *xb) {
    __m256i qw = _mm256_loadu_si256((const __m256i *)(wb + 2));
    __m256i qx = _mm256_loadu_si256((const __m256i *)(xb + 2));
    __m256i d16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
    __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(d16, _mm256_set1_epi16(1)));
    uint16_t dw, dx; memcpy(&dw, wb, 2); memcpy(&dx, xb, 2);
    return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(dw) * _cvtsh_ss(dx)), dot, acc);
}

X86_TARGET("avx2,fma,f16c") static void mv_q8_0_q8_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    OMNI_Q8_ROWS(q8_block_avx2);
}

X86_TARGET("avx2,fma,f16c") static void mv_q8_0_f32_avx2(const uint8_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * 34;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *wb = row + b * 34; uint16_t d; memcpy(&d, wb, 2);
            __m256 s = _mm256_setzero_ps();
            for (int k = 0; k < 32; k += 8) {
                __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(wb + 2 + k))));
                s = _mm256_fmadd_ps(q, _mm256_loadu_ps(x + b * 32 + k), s);
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(d)), s, acc);
        }
        y[o] = omni_hsum8(acc);
    }
}
#endif

// ---------------- portable ----------------
static void mv_f32_c(const float *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) { float s = 0; for (size_t i = 0; i < in; i++) s += w[o * in + i] * x[i]; y[o] = s; }
}
static void mv_bf16_c(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) { float s = 0; for (size_t i = 0; i < in; i++) s += b2f(w[o * in + i]) * x[i]; y[o] = s; }
}
static void mv_f16_c(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    for (size_t o = r0; o < r1; o++) { float s = 0; for (size_t i = 0; i < in; i++) s += h2f(w[o * in + i]) * x[i]; y[o] = s; }
}

void omni_dequantize_q8_0(const uint8_t *src, float *dst, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        uint16_t d; memcpy(&d, src + b * 34, 2); float df = h2f(d);
        const int8_t *q = (const int8_t *)(src + b * 34 + 2);
        for (int j = 0; j < 32; j++) dst[b * 32 + j] = df * (float)q[j];
    }
}

void omni_dequantize_q4_0(const uint8_t *src, float *dst, size_t n) {
    for (size_t b = 0; b < n / 32; b++) {
        uint16_t d; memcpy(&d, src + b * 18, 2); float df = h2f(d);
        const uint8_t *q = src + b * 18 + 2;
        for (int j = 0; j < 16; j++) {
            dst[b * 32 + j] = df * (float)((int)(q[j] & 0x0f) - 8);
            dst[b * 32 + j + 16] = df * (float)((int)(q[j] >> 4) - 8);
        }
    }
}

#if defined(__x86_64__)
// The reference formula below, 32 lanes at a time and bit for bit: the same amax, d = amax / 127 and id = 1 / d
// in f32, x·id rounded half away from zero as roundf does (truncate, then step away from zero where the
// dropped fraction is ≥ 0.5; both steps are exact), the int32s packed to int8 and put back in element order.
X86_TARGET("avx2,fma,f16c") static void quantize_q8_0_avx2(const float *src, uint8_t *dst, size_t n) {
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (size_t b = 0; b < n / 32; b++) {
        const float *x = src + b * 32;
        __m256 v[4];
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], absMask), _mm256_and_ps(v[1], absMask)),
                                 _mm256_max_ps(_mm256_and_ps(v[2], absMask), _mm256_and_ps(v[3], absMask)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t dh = f2h(d); memcpy(dst + b * 34, &dh, 2);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 t = _mm256_mul_ps(v[k], vid);
            __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 away = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(t, r), absMask), half, _CMP_GE_OQ);
            __m256 step = _mm256_or_ps(_mm256_and_ps(t, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u))), one);
            q[k] = _mm256_cvttps_epi32(_mm256_add_ps(r, _mm256_and_ps(away, step)));
        }
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)(dst + b * 34 + 2), _mm256_permutevar8x32_epi32(p, order));
    }
}
#endif

void omni_quantize_q8_0(const float *src, uint8_t *dst, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { quantize_q8_0_avx2(src, dst, n); return; }
#endif
    for (size_t b = 0; b < n / 32; b++) {
        const float *x = src + b * 32; float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t dh = f2h(d); memcpy(dst + b * 34, &dh, 2);
        int8_t *q = (int8_t *)(dst + b * 34 + 2);
        for (int j = 0; j < 32; j++) q[j] = (int8_t)roundf(x[j] * id);
    }
}

static void mv_q8_0_c(const uint8_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *wb = w + (o * nb + b) * 34; uint16_t d; memcpy(&d, wb, 2);
            const int8_t *q = (const int8_t *)(wb + 2); float t = 0;
            for (int j = 0; j < 32; j++) t += (float)q[j] * x[b * 32 + j];
            s += h2f(d) * t;
        }
        y[o] = s;
    }
}

void omni_matvec_f32(const float *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_f32_avx2(w, x, y, in, r0, r1); return; }
#endif
    mv_f32_c(w, x, y, in, r0, r1);
}
void omni_bf16_prepare_x(const float *x, float *xp, size_t in) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX512BF16) { omni_bf16_prepare_avx512bf16(x, xp, in); return; }
    if (omni_cpu_features() & OMNI_CPU_AVX2) { bf16_prepare_avx2(x, xp, in); return; }
#endif
    memcpy(xp, x, in * sizeof(float));
}
void omni_matvec_bf16_prepared(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX512BF16) { omni_mv_bf16_avx512bf16(w, xp, x, y, in, r0, r1); return; }
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_bf16_rows(w, xp, x, y, in, r0, r1); return; }
#endif
    (void)xp;
    mv_bf16_c(w, x, y, in, r0, r1);
}
void omni_matvec_bf16(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    float stackBuf[4096];
    float *xp = in <= 4096 ? stackBuf : (float *)malloc(in * sizeof(float));
    if (!xp) { mv_bf16_c(w, x, y, in, r0, r1); return; }
    omni_bf16_prepare_x(x, xp, in);
    omni_matvec_bf16_prepared(w, xp, x, y, in, r0, r1);
    if (xp != stackBuf) free(xp);
}
void omni_matvec_f16(const uint16_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_f16_avx2(w, x, y, in, r0, r1); return; }
#endif
    mv_f16_c(w, x, y, in, r0, r1);
}
static void mv_q8_0_q8_c(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *wb = w + (o * nb + b) * 34, *xb = xq + b * 34;
            uint16_t dw, dx; memcpy(&dw, wb, 2); memcpy(&dx, xb, 2);
            int t = 0;
            for (int j = 0; j < 32; j++) t += (int)(int8_t)wb[2 + j] * (int)(int8_t)xb[2 + j];
            s += h2f(dw) * h2f(dx) * (float)t;
        }
        y[o] = s;
    }
}

void omni_matvec_q8_0(const uint8_t *w, const float *x, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) {
        if (xq && (omni_cpu_features() & OMNI_CPU_VNNI)) omni_mv_q8_0_q8_vnni(w, xq, y, in, r0, r1);
        else if (xq) mv_q8_0_q8_avx2(w, xq, y, in, r0, r1);
        else mv_q8_0_f32_avx2(w, x, y, in, r0, r1);
        return;
    }
#endif
    if (xq) mv_q8_0_q8_c(w, xq, y, in, r0, r1); else mv_q8_0_c(w, x, y, in, r0, r1);
}
