// Row kernels of the prefill and tower paths (many rows at once): GELU, LayerNorm, bias rows. AVX2 with a
// portable fallback, picked at run time like every kernel here.
#include "CKernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include "avx2.h"

// Cephes-style exp (as vector.c's exp8), kept private to this file.
X86_TARGET("avx2,fma") static inline __m256 pexp8(__m256 x) {
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365447505531f));
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    y = _mm256_fmadd_ps(y, z, x);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// erf(x) by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), the formula ATen's vectorized erf uses:
// erf(|x|) = 1 − (a1·t + … + a5·t⁵)·exp(−x²), t = 1 / (1 + p·|x|), sign restored.
X86_TARGET("avx2,fma") static inline __m256 erf8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 s = _mm256_and_ps(x, sign), a = _mm256_andnot_ps(sign, x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 e = pexp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 r = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(r, s);
}

X86_TARGET("avx2,fma") static void gelu_erf_avx2(const float *x, float *y, size_t n) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), rs2 = _mm256_set1_ps(0.70710678118654752f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 r = _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf8(_mm256_mul_ps(v, rs2))));
        _mm256_storeu_ps(y + i, r);
    }
    for (; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

X86_TARGET("avx2,fma") static void gelu_tanh_avx2(const float *x, float *y, size_t n) {
    // 0.5x(1 + tanh(u)) = x · sigmoid(2u) = x / (1 + exp(−2u)), u = √(2/π)(x + 0.044715x³).
    const __m256 c = _mm256_set1_ps(-2.0f * 0.79788456080286536f), k = _mm256_set1_ps(0.044715f), one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(c, _mm256_fmadd_ps(_mm256_mul_ps(k, v), _mm256_mul_ps(v, v), v));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, pexp8(u))));
    }
    for (; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + tanhf(0.79788456080286536f * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

X86_TARGET("avx2,fma") static void layernorm_avx2(const float *x, const float *w, const float *b, float *y, size_t n, float eps) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(x + i));
        acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(x + i + 8));
    }
    double sum = omni_hsum8(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) sum += x[i];
    float mean = (float)(sum / (double)n);
    // Corrected two-pass: Σc and Σc² of c = x − mean fix the mean's rounding (mean += Σc/n) and the variance.
    __m256 mv = _mm256_set1_ps(mean), s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    acc0 = _mm256_setzero_ps(); acc1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m256 c0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv), c1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv);
        s0 = _mm256_add_ps(s0, c0);
        s1 = _mm256_add_ps(s1, c1);
        acc0 = _mm256_fmadd_ps(c0, c0, acc0);
        acc1 = _mm256_fmadd_ps(c1, c1, acc1);
    }
    double sc = omni_hsum8(_mm256_add_ps(s0, s1)), var = omni_hsum8(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) { double c = (double)x[i] - mean; sc += c; var += c * c; }
    var = (var - sc * sc / (double)n);
    if (var < 0) var = 0;
    mean = (float)((double)mean + sc / (double)n);
    mv = _mm256_set1_ps(mean);
    float inv = (float)(1.0 / sqrt(var / (double)n + (double)eps));
    __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 o = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv), iv);
        if (w) o = _mm256_mul_ps(o, _mm256_loadu_ps(w + i));
        if (b) o = _mm256_add_ps(o, _mm256_loadu_ps(b + i));
        _mm256_storeu_ps(y + i, o);
    }
    for (; i < n; i++) {
        float o = (x[i] - mean) * inv;
        if (w) o *= w[i];
        if (b) o += b[i];
        y[i] = o;
    }
}
#endif

void omni_gelu(const float *x, float *y, size_t n, int tanh_form) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) {
        if (tanh_form) gelu_tanh_avx2(x, y, n); else gelu_erf_avx2(x, y, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = tanh_form ? 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)))
                         : 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

void omni_layernorm_row(const float *x, const float *w, const float *b, float *y, size_t n, float eps) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { layernorm_avx2(x, w, b, y, n, eps); return; }
#endif
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += x[i];
    mean /= (double)n;
    double v = 0;
    for (size_t i = 0; i < n; i++) { double c = x[i] - mean; v += c * c; }
    float inv = (float)(1.0 / sqrt(v / (double)n + (double)eps)), m = (float)mean;
    for (size_t i = 0; i < n; i++) {
        float o = (x[i] - m) * inv;
        if (w) o *= w[i];
        if (b) o += b[i];
        y[i] = o;
    }
}

void omni_fill_rows(float *y, size_t ld, const float *row, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) memcpy(y + r * ld, row, cols * sizeof(float));
}
