// Vector helpers for softmax, norms and activations (AVX2 with a portable fallback).
#include "CKernels.h"
#include <math.h>
#if defined(__x86_64__)
#include "avx2.h"

// Cephes-style exp for 8 floats (as in avx_mathfun): range-reduce by ln2, degree-5 polynomial.
X86_TARGET("avx2,fma") static inline __m256 exp8(__m256 x) {
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

X86_TARGET("avx2,fma") static float exp_sub_sum_avx2(float *x, size_t n, float m) {
    __m256 acc = _mm256_setzero_ps(), mv = _mm256_set1_ps(m);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float s = omni_hsum8(acc);
    for (; i < n; i++) { x[i] = expf(x[i] - m); s += x[i]; }
    return s;
}

X86_TARGET("avx2,fma") static void swiglu_avx2(const float *g, const float *u, float *y, size_t n) {
    size_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 gv = _mm256_loadu_ps(g + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        __m256 s = _mm256_div_ps(gv, _mm256_add_ps(one, e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

X86_TARGET("avx2,fma") static void axpy_avx2(float *y, const float *x, float a, size_t n) {
    __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

float omni_exp_sub_sum(float *x, size_t n, float m) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) return exp_sub_sum_avx2(x, n, m);
#endif
    float s = 0;
    for (size_t i = 0; i < n; i++) { x[i] = expf(x[i] - m); s += x[i]; }
    return s;
}

float omni_max(const float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

void omni_axpy(float *y, const float *x, float a, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { axpy_avx2(y, x, a, n); return; }
#endif
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

#if defined(__x86_64__)
X86_TARGET("avx2,fma") static void dot_rows_avx2(const float *q, const float *k, size_t stride, size_t rows, size_t n,
                                                 float scale, float *out) {
    for (size_t j = 0; j < rows; j++) out[j] = scale * omni_dot_avx2(q, k + j * stride, n);
}

// Per element the same fma sequence (rows in order) as omni_axpy row after row; the sums stay in registers.
X86_TARGET("avx2,fma") static void axpy_rows_avx2(float *y, const float *v, size_t stride, const float *w, size_t rows,
                                                  size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = _mm256_loadu_ps(y + i), a1 = _mm256_loadu_ps(y + i + 8);
        __m256 a2 = _mm256_loadu_ps(y + i + 16), a3 = _mm256_loadu_ps(y + i + 24);
        for (size_t j = 0; j < rows; j++) {
            if (w[j] == 0) continue;
            const __m256 wv = _mm256_set1_ps(w[j]);
            const float *vj = v + j * stride + i;
            a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj), a0);
            a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj + 8), a1);
            a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj + 16), a2);
            a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(vj + 24), a3);
        }
        _mm256_storeu_ps(y + i, a0); _mm256_storeu_ps(y + i + 8, a1);
        _mm256_storeu_ps(y + i + 16, a2); _mm256_storeu_ps(y + i + 24, a3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(y + i);
        for (size_t j = 0; j < rows; j++)
            if (w[j] != 0) a = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(v + j * stride + i), a);
        _mm256_storeu_ps(y + i, a);
    }
    for (; i < n; i++)
        for (size_t j = 0; j < rows; j++)
            if (w[j] != 0) y[i] += w[j] * v[j * stride + i];
}
#endif

void omni_dot_rows(const float *q, const float *k, size_t stride, size_t rows, size_t n, float scale, float *out) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { dot_rows_avx2(q, k, stride, rows, n, scale, out); return; }
#endif
    for (size_t j = 0; j < rows; j++) out[j] = scale * omni_dot(q, k + j * stride, n);
}

void omni_axpy_rows(float *y, const float *v, size_t stride, const float *w, size_t rows, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { axpy_rows_avx2(y, v, stride, w, rows, n); return; }
#endif
    for (size_t j = 0; j < rows; j++)
        if (w[j] != 0) omni_axpy(y, v + j * stride, w[j], n);
}

void omni_scale(float *y, float a, size_t n) { for (size_t i = 0; i < n; i++) y[i] *= a; }

float omni_dot(const float *x, const float *y, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) return omni_dot_avx2(x, y, n);
#endif
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

void omni_rmsnorm_row(const float *x, const float *w32, const uint16_t *w16, float *y, size_t n, float eps) {
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (size_t i = 0; i < n; i++) {
        float w = w32 ? w32[i] : (w16 ? ({ uint32_t u = (uint32_t)w16[i] << 16; float f; __builtin_memcpy(&f, &u, 4); f; }) : 1.0f);
        y[i] = w * (x[i] * r);
    }
}

void omni_swiglu(const float *g, const float *u, float *y, size_t n) {
#if defined(__x86_64__)
    if (omni_cpu_features() & OMNI_CPU_AVX2) { swiglu_avx2(g, u, y, n); return; }
#endif
    for (size_t i = 0; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
