// llama.cpp's k-quants (Q4_K, Q6_K: 256-element super-blocks) and Q5_0, the type llama.cpp writes instead of Q4_K
// for rows that are not whole super-blocks (Qwen2.5-0.5B's 896 columns): dequantization with ggml's reference
// formulas (ggml-quants.c dequantize_row_q4_K / q6_K / q5_0, equal bit for bit to gguf-py's), Q8_K quantization of
// x (quantize_row_q8_K_ref), and the decode dot products against x quantized once per product, as llama.cpp's
// ggml_vec_dot_q4_K_q8_K / q6_K_q8_K / q5_0_q8_0 do, with run-time dispatch (AVX2 or portable C).
//
// Block layouts (ggml-common.h):
//   Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, 128 bytes qs.
//        Chunk j (64 values): low nibbles of qs[32j..32j+31] are values 64j.., high nibbles values 64j+32..;
//        value = d·sc[s]·q − dmin·m[s] (s = 2j for the low half, 2j+1 for the high half).
//   Q6_K (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales, f16 d;
//        value = d·sc[i/16]·(q − 32).
//   Q5_0 (22 bytes): f16 d, 4 bytes qh (bit j = 5th bit of value j), 16 bytes qs (value j low nibble, j+16 high);
//        value = d·(q − 16).
//   Q8_K (292 bytes, x only): f32 d, 256 int8 qs, 16 int16 bsums (sums of 16 consecutive qs).
#include "CKernels.h"
#include "half.h"
#include "matvec_internal.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif

// Dequantization must give gguf-py's bits: products and differences rounded one at a time, never fused.
#pragma STDC FP_CONTRACT OFF

enum { QK = 256, Q4K_BYTES = 144, Q6K_BYTES = 210, Q5_0_BYTES = 22, Q8K_BYTES = 292 };

size_t omni_q8_k_bytes(size_t in) { return in / QK * Q8K_BYTES; }

// ---- dequantization ----

// The 6-bit scale and min of sub-block j (ggml-quants.c get_scale_min_k4).
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) { *d = q[j] & 63; *m = q[j + 4] & 63; }
    else { *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4); *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}

static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

void omni_dequantize_q4_k(const uint8_t *src, float *y, size_t n) {
    for (size_t i = 0; i < n / QK; i++) {
        const uint8_t *b = src + i * Q4K_BYTES, *sc = b + 4, *q = b + 16;
        const float d = f16_to_f32_1(rd16(b)), min = f16_to_f32_1(rd16(b + 2));
        for (int j = 0, is = 0; j < QK; j += 64, is += 2, q += 32) {
            uint8_t s, m;
            scale_min_k4(is, sc, &s, &m);
            const float d1 = d * s, m1 = min * m;
            scale_min_k4(is + 1, sc, &s, &m);
            const float d2 = d * s, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void omni_dequantize_q6_k(const uint8_t *src, float *y, size_t n) {
    for (size_t i = 0; i < n / QK; i++) {
        const uint8_t *b = src + i * Q6K_BYTES, *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        const float d = f16_to_f32_1(rd16(b + 208));
        for (int n0 = 0; n0 < QK; n0 += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void omni_dequantize_q5_0(const uint8_t *src, float *y, size_t n) {
    for (size_t i = 0; i < n / 32; i++, y += 32) {
        const uint8_t *b = src + i * Q5_0_BYTES, *qs = b + 6;
        const float d = f16_to_f32_1(rd16(b));
        uint32_t qh; memcpy(&qh, b + 2, 4);
        for (int j = 0; j < 16; j++) {
            const uint8_t xh0 = ((qh >> j) << 4) & 0x10, xh1 = (qh >> (j + 12)) & 0x10;
            y[j] = (float)((int)((qs[j] & 0x0F) | xh0) - 16) * d;
            y[j + 16] = (float)((int)((qs[j] >> 4) | xh1) - 16) * d;
        }
    }
}

// ---- x quantized for the products ----

void omni_quantize_q8_k(const float *x, uint8_t *dst, size_t n) {
    for (size_t i = 0; i < n / QK; i++, x += QK) {
        uint8_t *b = dst + i * Q8K_BYTES;
        int8_t *qs = (int8_t *)(b + 4);
        float max = 0, amax = 0;
        for (int j = 0; j < QK; j++) {
            const float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0) { memset(b, 0, Q8K_BYTES); continue; }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK; j++) {
            const int v = (int)lrintf(iscale * x[j]);
            qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK / 16; j++) {
            int s = 0;
            for (int k = 0; k < 16; k++) s += qs[16 * j + k];
            const int16_t s16 = (int16_t)s;
            memcpy(b + 4 + QK + 2 * j, &s16, 2);
        }
        const float d = 1 / iscale;
        memcpy(b, &d, 4);
    }
}

// Prepared x for Q5_0 (omni_q5_0_prepare_x): x's Q8_0 blocks (omni_quantize_q8_0), padded to 32 bytes; per block
// 8 int32 c with c[k] = −16·(q_x[4k] + … + q_x[4k+3]); then per block d_x as f32. The AVX2 kernel multiplies the
// unsigned 5-bit values straight into q_x and adds c to its 8 lane sums: Σ (q − 16)·q_x, with no sign operations.
static inline size_t q5_corr_offset(size_t nb) { return (nb * 34 + 31) / 32 * 32; }

size_t omni_q5_0_prepared_bytes(size_t in) { return q5_corr_offset(in / 32) + in / 32 * (32 + sizeof(float)); }

void omni_q5_0_prepare_x(const float *x, uint8_t *xp, size_t in) {
    const size_t nb = in / 32;
    omni_quantize_q8_0(x, xp, in);
    uint8_t *corr = xp + q5_corr_offset(nb);
    float *dx = (float *)(corr + nb * 32);
    for (size_t b = 0; b < nb; b++) {
        const int8_t *q = (const int8_t *)(xp + b * 34 + 2);
        for (int k = 0; k < 8; k++) {
            const int32_t c = -16 * (q[4 * k] + q[4 * k + 1] + q[4 * k + 2] + q[4 * k + 3]);
            memcpy(corr + b * 32 + 4 * k, &c, 4);
        }
        dx[b] = f16_to_f32_1(rd16(xp + b * 34));
    }
}

// ---- portable products ----

static void mv_q4_k_c(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / QK;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t i = 0; i < nb; i++) {
            const uint8_t *b = w + (o * nb + i) * Q4K_BYTES, *xb = xq + i * Q8K_BYTES, *q = b + 16;
            const int8_t *qx = (const int8_t *)(xb + 4);
            float dx; memcpy(&dx, xb, 4);
            int sumq = 0, summ = 0;
            for (int j = 0; j < 4; j++, q += 32, qx += 64) {
                uint8_t sl, ml, sh, mh;
                scale_min_k4(2 * j, b + 4, &sl, &ml);
                scale_min_k4(2 * j + 1, b + 4, &sh, &mh);
                int tl = 0, th = 0, xl = 0, xh = 0;
                for (int l = 0; l < 32; l++) {
                    tl += (q[l] & 0xF) * qx[l]; th += (q[l] >> 4) * qx[l + 32];
                    xl += qx[l]; xh += qx[l + 32];
                }
                sumq += sl * tl + sh * th;
                summ += ml * xl + mh * xh;
            }
            s += dx * f16_to_f32_1(rd16(b)) * (float)sumq - dx * f16_to_f32_1(rd16(b + 2)) * (float)summ;
        }
        y[o] = s;
    }
}

static void mv_q6_k_c(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / QK;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t i = 0; i < nb; i++) {
            const uint8_t *b = w + (o * nb + i) * Q6K_BYTES, *xb = xq + i * Q8K_BYTES, *ql = b, *qh = b + 128;
            const int8_t *sc = (const int8_t *)(b + 192), *qx = (const int8_t *)(xb + 4);
            float dx; memcpy(&dx, xb, 4);
            int sum = 0;
            for (int n0 = 0; n0 < QK; n0 += 128, ql += 64, qh += 32, sc += 8, qx += 128) {
                for (int l = 0; l < 32; l++) {
                    const int is = l / 16;
                    sum += sc[is] * ((int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * qx[l];
                    sum += sc[is + 2] * ((int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * qx[l + 32];
                    sum += sc[is + 4] * ((int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * qx[l + 64];
                    sum += sc[is + 6] * ((int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * qx[l + 96];
                }
            }
            s += dx * f16_to_f32_1(rd16(b + 208)) * (float)sum;
        }
        y[o] = s;
    }
}

static void mv_q5_0_c(const uint8_t *w, const uint8_t *xp, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    for (size_t o = r0; o < r1; o++) {
        float s = 0;
        for (size_t i = 0; i < nb; i++) {
            const uint8_t *b = w + (o * nb + i) * Q5_0_BYTES, *qs = b + 6, *xb = xp + i * 34;
            const int8_t *qx = (const int8_t *)(xb + 2);
            uint32_t qh; memcpy(&qh, b + 2, 4);
            int t = 0;
            for (int j = 0; j < 16; j++) {
                t += ((int)((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16) * qx[j];
                t += ((int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16) * qx[j + 16];
            }
            s += f16_to_f32_1(rd16(b)) * f16_to_f32_1(rd16(xb)) * (float)t;
        }
        y[o] = s;
    }
}

// ---- AVX2 products ----
#if defined(__x86_64__)

// Sum of the 8 int32 lanes of `acc`'s float conversion is done once per row; per super-block one float FMA.
X86_TARGET("avx2,fma,f16c") static void mv_q4_k_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / QK;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * Q4K_BYTES;
        __m256 acc = _mm256_setzero_ps();
        __m128 accm = _mm_setzero_ps();
        for (size_t i = 0; i < nb; i++) {
            const uint8_t *b = row + i * Q4K_BYTES, *xb = xq + i * Q8K_BYTES;
            _mm_prefetch((const char *)b + MV_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)b + MV_PREFETCH + 64, _MM_HINT_T0);
            float dx; memcpy(&dx, xb, 4);
            const float d = dx * _cvtsh_ss(rd16(b)), dmin = -dx * _cvtsh_ss(rd16(b + 2));
            // The 8 scales to bytes 0..7 and the 8 mins to bytes 8..15 (llama.cpp's utmp shuffle).
            uint32_t u[4]; memcpy(u, b + 4, 12);
            u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
            const uint32_t ua = u[1] & kmask1;
            u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
            u[2] = ua;
            u[0] &= kmask1;
            const __m256i ms = _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]));
            const __m256i bs = _mm256_loadu_si256((const __m256i *)(xb + 4 + QK));
            const __m128i bs8 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            accm = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(_mm256_extracti128_si256(ms, 1), bs8)), accm);
            const __m128i sc128 = _mm256_castsi256_si128(ms);
            const __m256i scales = _mm256_set_m128i(sc128, sc128);
            const uint8_t *q4 = b + 16;
            const int8_t *q8 = (const int8_t *)(xb + 4);
            __m256i sumi = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i sl = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j))));
                const __m256i sh = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * j + 1))));
                const __m256i bits = _mm256_loadu_si256((const __m256i *)(q4 + 32 * j));
                const __m256i ql = _mm256_and_si256(bits, m4), qh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                const __m256i pl = _mm256_madd_epi16(sl, _mm256_maddubs_epi16(ql, _mm256_loadu_si256((const __m256i *)(q8 + 64 * j))));
                const __m256i ph = _mm256_madd_epi16(sh, _mm256_maddubs_epi16(qh, _mm256_loadu_si256((const __m256i *)(q8 + 64 * j + 32))));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
        accm = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
        accm = _mm_add_ss(accm, _mm_movehdup_ps(accm));
        y[o] = omni_hsum8(acc) + _mm_cvtss_f32(accm);
    }
}

// Q6_K: Σ sc·(q − 32)·q_x = Σ sc·q·q_x − 32·Σ sc·bsum, the second term from x's 16-value sums (no per-element
// subtraction): two maddubs fewer per 32 values than llama.cpp's kernel, same integers.
X86_TARGET("avx2,fma,f16c") static void mv_q6_k_avx2(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / QK;
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * Q6K_BYTES;
        __m256 acc = _mm256_setzero_ps();
        for (size_t i = 0; i < nb; i++) {
            const uint8_t *b = row + i * Q6K_BYTES, *xb = xq + i * Q8K_BYTES;
            _mm_prefetch((const char *)b + MV_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)b + MV_PREFETCH + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)b + MV_PREFETCH + 128, _MM_HINT_T0);
            float dx; memcpy(&dx, xb, 4);
            const float d = dx * _cvtsh_ss(rd16(b + 208));
            const __m128i sc8 = _mm_loadu_si128((const __m128i *)(b + 192));
            const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);                    // 16 scales as int16
            // −32·Σ sc[g]·bsum[g] over the 16 groups, in the int32 lanes.
            __m256i sumi = _mm256_mullo_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)(xb + 4 + QK))),
                                              _mm256_set1_epi32(-32));
            const uint8_t *ql = b, *qh = b + 128;
            const int8_t *q8 = (const int8_t *)(xb + 4);
            for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128) {
                const __m256i b1 = _mm256_loadu_si256((const __m256i *)ql), b2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
                const __m256i bh = _mm256_loadu_si256((const __m256i *)qh);
                const __m256i q0 = _mm256_or_si256(_mm256_and_si256(b1, m4), _mm256_slli_epi16(_mm256_and_si256(bh, m2), 4));
                const __m256i q1 = _mm256_or_si256(_mm256_and_si256(b2, m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 2), m2), 4));
                const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 4), m2), 4));
                const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m4),
                                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(bh, 6), m2), 4));
                // Scale k of this half (k = 0..7) covers values 16k..16k+15: the 16 int16 pair sums of chunk c use
                // scales 2c (lanes 0..7) and 2c+1 (lanes 8..15).
                const int8_t *s = (const int8_t *)(b + 192 + 8 * j);
                const __m256i s0 = _mm256_setr_m128i(_mm_set1_epi16(s[0]), _mm_set1_epi16(s[1]));
                const __m256i s1 = _mm256_setr_m128i(_mm_set1_epi16(s[2]), _mm_set1_epi16(s[3]));
                const __m256i s2 = _mm256_setr_m128i(_mm_set1_epi16(s[4]), _mm_set1_epi16(s[5]));
                const __m256i s3 = _mm256_setr_m128i(_mm_set1_epi16(s[6]), _mm_set1_epi16(s[7]));
                const __m256i p0 = _mm256_madd_epi16(s0, _mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i *)q8)));
                const __m256i p1 = _mm256_madd_epi16(s1, _mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i *)(q8 + 32))));
                const __m256i p2 = _mm256_madd_epi16(s2, _mm256_maddubs_epi16(q2, _mm256_loadu_si256((const __m256i *)(q8 + 64))));
                const __m256i p3 = _mm256_madd_epi16(s3, _mm256_maddubs_epi16(q3, _mm256_loadu_si256((const __m256i *)(q8 + 96))));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)));
            }
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        }
        y[o] = omni_hsum8(acc);
    }
}

// Q5_0: the unsigned 5-bit values (nibble | 16·high bit) times q_x, plus the prepared −16·Σq_x per lane.
X86_TARGET("avx2,fma,f16c") static void mv_q5_0_avx2(const uint8_t *w, const uint8_t *xp, float *y, size_t in, size_t r0, size_t r1) {
    const size_t nb = in / 32;
    const uint8_t *corr = xp + q5_corr_offset(nb);
    const float *dx = (const float *)(corr + nb * 32);
    const __m256i low = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1), shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i bitm = _mm256_set1_epi64x((long long)0x8040201008040201ULL), sixteen = _mm256_set1_epi8(0x10);
#define Q5_STEP(acc, bi) do { \
        const uint8_t *wb_ = row + (bi) * Q5_0_BYTES; \
        uint32_t qh_; memcpy(&qh_, wb_ + 2, 4); \
        __m256i nib_ = _mm256_and_si256(_mm256_srlv_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(wb_ + 6))), shift), low); \
        __m256i hb_ = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)qh_), spread), bitm); \
        hb_ = _mm256_and_si256(_mm256_cmpeq_epi8(hb_, bitm), sixteen); \
        __m256i qx_ = _mm256_loadu_si256((const __m256i *)(xp + (bi) * 34 + 2)); \
        __m256i s_ = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_or_si256(nib_, hb_), qx_), ones), \
                                      _mm256_loadu_si256((const __m256i *)(corr + (bi) * 32))); \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(rd16(wb_)) * dx[bi]), _mm256_cvtepi32_ps(s_), acc); \
    } while (0)
    for (size_t o = r0; o < r1; o++) {
        const uint8_t *row = w + o * nb * Q5_0_BYTES;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        size_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            _mm_prefetch((const char *)(row + b * Q5_0_BYTES) + MV_PREFETCH, _MM_HINT_T0);
            Q5_STEP(a0, b);
            Q5_STEP(a1, b + 1);
        }
        if (b < nb) Q5_STEP(a0, b);
        y[o] = omni_hsum8(_mm256_add_ps(a0, a1));
    }
#undef Q5_STEP
}
#endif

// ---- dispatch ----

void omni_matvec_q4_k(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_q4_k_avx2(w, xq, y, in, r0, r1); return; }
#endif
    mv_q4_k_c(w, xq, y, in, r0, r1);
}

void omni_matvec_q6_k(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_q6_k_avx2(w, xq, y, in, r0, r1); return; }
#endif
    mv_q6_k_c(w, xq, y, in, r0, r1);
}

void omni_matvec_q5_0(const uint8_t *w, const uint8_t *xp, float *y, size_t in, size_t r0, size_t r1) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { mv_q5_0_avx2(w, xp, y, in, r0, r1); return; }
#endif
    mv_q5_0_c(w, xp, y, in, r0, r1);
}
