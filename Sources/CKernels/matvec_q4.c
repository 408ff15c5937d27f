// Decode-path matrix-vector products over Q4_0 weight rows (18-byte blocks: f16 scale, then 16 bytes whose low
// nibbles are elements 0..15 and high nibbles 16..31, each biased by 8), against x quantized to Q8_0 once per
// product (as llama.cpp's ggml_vec_dot_q4_0_q8_0 does) or, without it, against x in f32.
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif

// Prepared x (omni_q4_0_prepare_x): the Q8_0 blocks of x; padded to 32 bytes, per block 8 int32 c with
// c[k] = −8·(q_x[4k] + … + q_x[4k+3]); then per block d_x as f32. The AVX2 kernel multiplies the unsigned
// nibbles straight into q_x (maddubs takes unsigned × signed) and adds c to the 8 int32 lane sums, which gives
// exactly Σ (nibble − 8)·q_x per lane (the integers of the sign-trick kernel, so the same float result), without
// the subtraction and the two sign operations per block: in cache 2.0 → ~1.45 ns per 18-byte block on the Zen 3
// dev machine, where 2 threads stream one every ~2 ns (the sign-trick block was compute-bound).
static inline size_t q4_corr_offset(size_t nb) { return (nb * 34 + 31) / 32 * 32; }

#if defined(__x86_64__)
X86_TARGET("avx2,fma,f16c") static void mv_q4_0_q8_avx2(const uint8_t *w, const uint8_t *xp, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    const uint8_t *corr = xp + q4_corr_offset(nb);
    const float *dx = (const float *)(corr + nb * 32);
    const __m256i low = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1), shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
#define Q4_STEP(acc, b) do { \
        const uint8_t *wb_ = row + (b) * 18; \
        __m256i nib_ = _mm256_and_si256(_mm256_srlv_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(wb_ + 2))), shift), low); \
        __m256i qx_ = _mm256_loadu_si256((const __m256i *)(xp + (b) * 34 + 2)); \
        __m256i s_ = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(nib_, qx_), ones), \
                                      _mm256_loadu_si256((const __m256i *)(corr + (b) * 32))); \
        uint16_t dw_; memcpy(&dw_, wb_, 2); \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(dw_) * dx[b]), _mm256_cvtepi32_ps(s_), acc); \
    } while (0)
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * 18;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        size_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            _mm_prefetch((const char *)(row + b * 18) + MV_PREFETCH, _MM_HINT_T0);
            Q4_STEP(a0, b);
            Q4_STEP(a1, b + 1);
        }
        if (b < nb) Q4_STEP(a0, b);
        y[o] = omni_hsum8(_mm256_add_ps(a0, a1));
    }
#undef Q4_STEP
}
#endif

static void mv_q4_0_q8_c(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *wb = w + (o * nb + b) * 18, *xb = xq + b * 34;
            uint16_t dw, dx; memcpy(&dw, wb, 2); memcpy(&dx, xb, 2);
            int t = 0;
            for (int j = 0; j < 16; j++) {
                t += ((int)(wb[2 + j] & 0x0f) - 8) * (int)(int8_t)xb[2 + j];
                t += ((int)(wb[2 + j] >> 4) - 8) * (int)(int8_t)xb[2 + 16 + j];
            }
            s += f16_to_f32_1(dw) * f16_to_f32_1(dx) * (float)t;
        }
        y[o] = s;
    }
}

static void mv_q4_0_f32_c(const uint8_t *w, const float *x, float *y, size_t in, size_t r0, size_t r1) {
    size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            const uint8_t *wb = w + (o * nb + b) * 18; uint16_t d; memcpy(&d, wb, 2);
            const float *xb = x + b * 32; float t = 0;
            for (int j = 0; j < 16; j++)
                t += (float)((int)(wb[2 + j] & 0x0f) - 8) * xb[j] + (float)((int)(wb[2 + j] >> 4) - 8) * xb[16 + j];
            s += f16_to_f32_1(d) * t;
        }
        y[o] = s;
    }
}

size_t omni_q4_0_prepared_bytes(size_t in) { return q4_corr_offset(in / 32) + in / 32 * (32 + sizeof(float)); }

void omni_q4_0_prepare_x(const float *x, uint8_t *xp, size_t in) {
    size_t nb = in / 32;
    omni_quantize_q8_0(x, xp, in);
    uint8_t *corr = xp + q4_corr_offset(nb);
    float *dx = (float *)(corr + nb * 32);
    for (size_t b = 0; b < nb; b++) {
        const int8_t *q = (const int8_t *)(xp + b * 34 + 2);
        // maddubs pairs elements (2k, 2k+1) and madd sums pairs (2j, 2j+1): lane k of the int32 sums covers
        // elements 4k..4k+3, and the low 128 bits hold elements 0..15 (low nibbles), as the kernel's lanes.
        for (int k = 0; k < 8; k++) {
            int32_t c = -8 * (q[4 * k] + q[4 * k + 1] + q[4 * k + 2] + q[4 * k + 3]);
            memcpy(corr + b * 32 + 4 * k, &c, 4);
        }
        uint16_t h; memcpy(&h, xp + b * 34, 2);
        dx[b] = f16_to_f32_1(h);
    }
}

void omni_matvec_q4_0(const uint8_t *w, const float *x, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (xq && (omni_cpu_features() & OMNI_CPU_AVX2)) { mv_q4_0_q8_avx2(w, xq, y, in, r0, r1); return; }
#endif
    if (xq) mv_q4_0_q8_c(w, xq, y, in, r0, r1); else mv_q4_0_f32_c(w, x, y, in, r0, r1);
}
