// BigVGAN's anti-aliased SnakeBeta (Activation1d: upsample ×2 with a 12-tap Kaiser-sinc filter, SnakeBeta, the same
// filter downsampling ×2) in one pass per tile of a channel: the upsampled signal lives only in two small buffers
// (its even and odd samples), never as a full-length array. AVX2 with a portable fallback, picked at run time; the
// channels × tiles run on the kernel pool.
//
// With x replicate-padded, the upsampled signal u (2n samples, replicate-padded 5 then a stride-2 transposed conv,
// keep [15, 15 + 2n)) splits into
//   E[j] = u[2j]     = 2 Σ_q f[2q+1] · x[j + 2 − q],   O[j] = u[2j+1] = 2 Σ_q f[2q] · x[j + 3 − q]   (q = 0..5),
// each activated as a + sin²(a·e^α) / (e^β + 1e−9); the downsampling (replicate-pad 5 left, 6 right, stride 2) is
//   y[m] = Σ_q f[2q+1] · E[m + q − 2] + f[2q] · O[m + q − 3],
// where an index before 0 reads u[0] = E[0] and one past the end reads u[2n−1] = O[n−1].
#include "CKernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"
#endif

enum { SNAKE_TILE = 2048 };

typedef struct {
    const float *x, *alpha, *beta, *f;
    float *y;
    size_t n, tiles;
} SnakeJob;

static inline float snake_act(float a, float ea, float inv) {
    float s = sinf(a * ea);
    return a + s * s * inv;
}

/// x with replicate padding.
static inline float xat(const float *x, long n, long i) { return x[i < 0 ? 0 : (i >= n ? n - 1 : i)]; }

static inline float up_even(const float *x, long n, long j, const float *f) {
    float s = 0;
    for (int q = 0; q < 6; q++) s += f[2 * q + 1] * xat(x, n, j + 2 - q);
    return 2 * s;
}

static inline float up_odd(const float *x, long n, long j, const float *f) {
    float s = 0;
    for (int q = 0; q < 6; q++) s += f[2 * q] * xat(x, n, j + 3 - q);
    return 2 * s;
}

#if defined(__x86_64__)
/// sin(x), Cephes sinf (range reduction by π/4 in three parts, degree-7/6 polynomials): within a few ulp for
/// |x| < 8192; the caller sends lanes beyond that to sinf.
X86_TARGET("avx2,fma") static inline __m256 sin8(__m256 x) {
    const __m256 signmask = _mm256_set1_ps(-0.0f);
    __m256 sign = _mm256_and_ps(x, signmask);
    x = _mm256_andnot_ps(signmask, x);
    __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, _mm256_set1_ps(1.27323954473516f)));   // 4/π
    j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
    __m256 y = _mm256_cvtepi32_ps(j);
    __m256 swap = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, _mm256_set1_epi32(4)), 29));
    __m256 poly = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), _mm256_setzero_si256()));
    sign = _mm256_xor_ps(sign, swap);
    x = _mm256_fnmadd_ps(y, _mm256_set1_ps(0.78515625f), x);
    x = _mm256_fnmadd_ps(y, _mm256_set1_ps(2.4187564849853515625e-4f), x);
    x = _mm256_fnmadd_ps(y, _mm256_set1_ps(3.77489497744594108e-8f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 c = _mm256_set1_ps(2.443315711809948e-5f);
    c = _mm256_fmadd_ps(c, z, _mm256_set1_ps(-1.388731625493765e-3f));
    c = _mm256_fmadd_ps(c, z, _mm256_set1_ps(4.166664568298827e-2f));
    c = _mm256_mul_ps(_mm256_mul_ps(c, z), z);
    c = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), c);
    c = _mm256_add_ps(c, _mm256_set1_ps(1.0f));
    __m256 s = _mm256_set1_ps(-1.9515295891e-4f);
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(8.3321608736e-3f));
    s = _mm256_fmadd_ps(s, z, _mm256_set1_ps(-1.6666654611e-1f));
    s = _mm256_fmadd_ps(_mm256_mul_ps(s, z), x, x);
    __m256 r = _mm256_blendv_ps(c, s, poly);
    return _mm256_xor_ps(r, sign);
}

/// a + sin²(a·ea)·inv on buf[0..n).
X86_TARGET("avx2,fma") static void snake_avx2(float *buf, size_t n, float ea, float inv) {
    const __m256 e = _mm256_set1_ps(ea), iv = _mm256_set1_ps(inv), big = _mm256_set1_ps(8192.0f);
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(buf + i), t = _mm256_mul_ps(a, e);
        if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(t, abs), big, _CMP_GT_OQ))) {
            for (size_t k = i; k < i + 8; k++) buf[k] = snake_act(buf[k], ea, inv);
            continue;
        }
        __m256 s = sin8(t);
        _mm256_storeu_ps(buf + i, _mm256_fmadd_ps(_mm256_mul_ps(s, s), iv, a));
    }
    for (; i < n; i++) buf[i] = snake_act(buf[i], ea, inv);
}

/// E[j], O[j] for j in [lo, hi) (3 ≤ lo, hi ≤ n − 3: no padding needed), into e[j − lo], o[j − lo].
X86_TARGET("avx2,fma") static void up_avx2(const float *x, long lo, long hi, const float *f, float *e, float *o) {
    __m256 fe[6], fo[6];
    for (int q = 0; q < 6; q++) { fe[q] = _mm256_set1_ps(2 * f[2 * q + 1]); fo[q] = _mm256_set1_ps(2 * f[2 * q]); }
    long j = lo;
    for (; j + 8 <= hi; j += 8) {
        __m256 se = _mm256_setzero_ps(), so = _mm256_setzero_ps();
        for (int q = 0; q < 6; q++) {
            se = _mm256_fmadd_ps(fe[q], _mm256_loadu_ps(x + j + 2 - q), se);
            so = _mm256_fmadd_ps(fo[q], _mm256_loadu_ps(x + j + 3 - q), so);
        }
        _mm256_storeu_ps(e + (j - lo), se);
        _mm256_storeu_ps(o + (j - lo), so);
    }
    for (; j < hi; j++) {
        float se = 0, so = 0;
        for (int q = 0; q < 6; q++) { se += 2 * f[2 * q + 1] * x[j + 2 - q]; so += 2 * f[2 * q] * x[j + 3 - q]; }
        e[j - lo] = se;
        o[j - lo] = so;
    }
}

/// y[m] for m in [0, count) from e, o (e[m + 3] is E[m0 + m]).
X86_TARGET("avx2,fma") static void down_avx2(const float *e, const float *o, const float *f, float *y, size_t count) {
    __m256 fe[6], fo[6];
    for (int q = 0; q < 6; q++) { fe[q] = _mm256_set1_ps(f[2 * q + 1]); fo[q] = _mm256_set1_ps(f[2 * q]); }
    size_t m = 0;
    for (; m + 8 <= count; m += 8) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (int q = 0; q < 6; q++) {
            s0 = _mm256_fmadd_ps(fe[q], _mm256_loadu_ps(e + m + 1 + q), s0);
            s1 = _mm256_fmadd_ps(fo[q], _mm256_loadu_ps(o + m + q), s1);
        }
        _mm256_storeu_ps(y + m, _mm256_add_ps(s0, s1));
    }
    for (; m < count; m++) {
        float s = 0;
        for (int q = 0; q < 6; q++) s += f[2 * q + 1] * e[m + 1 + q] + f[2 * q] * o[m + q];
        y[m] = s;
    }
}
#endif

/// One tile [m0, m1) of channel ch.
static void snake_tile(const SnakeJob *jb, size_t ch, size_t m0, size_t m1) {
    const long n = (long)jb->n;
    const float *x = jb->x + ch * jb->n, *f = jb->f;
    float *y = jb->y + ch * jb->n;
    const float ea = expf(jb->alpha[ch]), inv = 1.0f / (expf(jb->beta[ch]) + 1e-9f);
    // E and O for j in [m0 − 3, m1 + 3): e[k] = E[m0 − 3 + k].
    float e[SNAKE_TILE + 8], o[SNAKE_TILE + 8];
    const long lo = (long)m0 - 3, hi = (long)m1 + 3;
    const long rlo = lo < 0 ? 0 : lo, rhi = hi > n ? n : hi;   // samples that exist
    long vlo = rlo < 3 ? 3 : rlo, vhi = rhi > n - 3 ? n - 3 : rhi;   // samples whose taps need no padding
    int simd = 0;
#if defined(__x86_64__)
    simd = (omni_cpu_features() & OMNI_CPU_AVX2) != 0;
#endif
    if (!simd || vhi < vlo) vlo = vhi = rlo;
    for (long j = rlo; j < vlo; j++) { e[j - lo] = up_even(x, n, j, f); o[j - lo] = up_odd(x, n, j, f); }
#if defined(__x86_64__)
    if (vhi > vlo) up_avx2(x, vlo, vhi, f, e + (vlo - lo), o + (vlo - lo));
#endif
    for (long j = vhi > rlo ? vhi : rlo; j < rhi; j++) { e[j - lo] = up_even(x, n, j, f); o[j - lo] = up_odd(x, n, j, f); }
#if defined(__x86_64__)
    if (simd) {
        snake_avx2(e + (rlo - lo), (size_t)(rhi - rlo), ea, inv);
        snake_avx2(o + (rlo - lo), (size_t)(rhi - rlo), ea, inv);
    } else
#endif
    {
        for (long j = rlo; j < rhi; j++) { e[j - lo] = snake_act(e[j - lo], ea, inv); o[j - lo] = snake_act(o[j - lo], ea, inv); }
    }
    // Indices before the signal read u[0] = E[0]; past its end, u[2n − 1] = O[n − 1].
    for (long j = lo; j < rlo; j++) { e[j - lo] = e[0 - lo]; o[j - lo] = e[0 - lo]; }
    for (long j = rhi; j < hi; j++) { e[j - lo] = o[n - 1 - lo]; o[j - lo] = o[n - 1 - lo]; }
    // y[m] = Σ_q f[2q+1]·E[m + q − 2] + f[2q]·O[m + q − 3]; E[m + q − 2] = e[m − m0 + q + 1], O[m + q − 3] = o[m − m0 + q].
    const size_t count = m1 - m0;
#if defined(__x86_64__)
    if (simd) { down_avx2(e, o, f, y + m0, count); return; }
#endif
    for (size_t m = 0; m < count; m++) {
        float s = 0;
        for (int q = 0; q < 6; q++) s += f[2 * q + 1] * e[m + 1 + q] + f[2 * q] * o[m + q];
        y[m0 + m] = s;
    }
}

static void snake_task(void *ctx, long i) {
    const SnakeJob *jb = ctx;
    size_t ch = (size_t)i / jb->tiles, t = (size_t)i % jb->tiles;
    size_t m0 = t * SNAKE_TILE, m1 = m0 + SNAKE_TILE < jb->n ? m0 + SNAKE_TILE : jb->n;
    snake_tile(jb, ch, m0, m1);
}

void omni_snake_beta(const float *x, const float *alpha, const float *beta, const float *filter, float *y,
                     size_t channels, size_t n, int threads) {
    if (channels == 0 || n == 0) return;
    SnakeJob jb = {x, alpha, beta, filter, y, n, (n + SNAKE_TILE - 1) / SNAKE_TILE};
    omni_pool_run((long)(channels * jb.tiles), snake_task, &jb, threads);
}
