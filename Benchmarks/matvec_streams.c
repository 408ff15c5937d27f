// Why the decode kernels read one weight row at a time: a standalone microbenchmark of bf16 matrix-vector
// products over 557 MB of weights (64 matrices of [4864, 896], Qwen2.5-0.5B's gate/up shape, far past L3),
// comparing access patterns against a read-only pass over the same bytes.
//
//   cc -O2 -mavx2 -mfma -mf16c -pthread Benchmarks/matvec_streams.c -o /tmp/matvec_streams
//   /tmp/matvec_streams 2        # threads; prints GB/s of weight bytes per pattern (best of 5)
//   /tmp/matvec_streams 2 read-only   # only the read-only pass (Benchmarks/run_all.sh's read ceiling)
//
// rows4: four rows interleaved (the old kernel): four read streams per thread.
// rows1: one row at a time, two accumulator pairs: one sequential stream per thread.
// rows1+pf: rows1 with a software prefetch 1 KiB ahead (Sources/CKernels/matvec.c, MV_PREFETCH).
// read-only: xor of every 32-byte word, the memory ceiling for these threads.
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IN 896
#define OUT 4864
#define NM 64
static uint16_t *W;
static float XP[IN], Y[OUT * NM];
static int variant, nthreads;

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
#define STEP(acc0, acc1, p) do { \
        __m256i v_ = _mm256_loadu_si256((const __m256i *)(p)); \
        acc0 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v_, 16)), xe, acc0); \
        acc1 = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v_, hi)), xo, acc1); \
    } while (0)

static void rows4(const uint16_t *w, float *y, size_t r0, size_t r1) {
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t o = r0; o + 4 <= r1; o += 4) {
        const uint16_t *ra = w + o * IN, *rb = ra + IN, *rc = rb + IN, *rd = rc + IN;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (size_t i = 0; i < IN; i += 16) {
            __m256 xe = _mm256_loadu_ps(XP + i), xo = _mm256_loadu_ps(XP + i + 8);
            STEP(a0, a1, ra + i); STEP(b0, b1, rb + i); STEP(c0, c1, rc + i); STEP(d0, d1, rd + i);
        }
        y[o] = hsum8(_mm256_add_ps(a0, a1)); y[o + 1] = hsum8(_mm256_add_ps(b0, b1));
        y[o + 2] = hsum8(_mm256_add_ps(c0, c1)); y[o + 3] = hsum8(_mm256_add_ps(d0, d1));
    }
}

static void rows1(const uint16_t *w, float *y, size_t r0, size_t r1, int prefetch) {
    const __m256i hi = _mm256_set1_epi32((int)0xffff0000u);
    for (size_t o = r0; o < r1; o++) {
        const uint16_t *ra = w + o * IN;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
        for (size_t i = 0; i < IN; i += 32) {
            if (prefetch) _mm_prefetch((const char *)(ra + i) + 1024, _MM_HINT_T0);
            __m256 xe = _mm256_loadu_ps(XP + i), xo = _mm256_loadu_ps(XP + i + 8);
            STEP(a0, a1, ra + i);
            xe = _mm256_loadu_ps(XP + i + 16); xo = _mm256_loadu_ps(XP + i + 24);
            STEP(b0, b1, ra + i + 16);
        }
        y[o] = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(b0, b1)));
    }
}

static void readonly(const uint16_t *w, float *y, size_t r0, size_t r1) {
    __m256i a = _mm256_setzero_si256(), b = a;
    const __m256i *p = (const __m256i *)(w + r0 * IN), *e = (const __m256i *)(w + r1 * IN);
    for (; p + 2 <= e; p += 2) { a = _mm256_xor_si256(a, _mm256_loadu_si256(p)); b = _mm256_xor_si256(b, _mm256_loadu_si256(p + 1)); }
    y[r0] = (float)_mm256_extract_epi32(_mm256_xor_si256(a, b), 0);
}

static void *worker(void *arg) {
    long t = (long)arg;
    size_t per = OUT / nthreads / 4 * 4;
    for (int m = 0; m < NM; m++) {
        const uint16_t *w = W + (size_t)m * OUT * IN;
        float *y = Y + m * OUT;
        size_t r0 = t * per, r1 = r0 + per;
        switch (variant) {
        case 0: rows4(w, y, r0, r1); break;
        case 1: rows1(w, y, r0, r1, 0); break;
        case 2: rows1(w, y, r0, r1, 1); break;
        default: readonly(w, y, r0, r1); break;
        }
    }
    return 0;
}

static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

int main(int argc, char **argv) {
    nthreads = argc > 1 ? atoi(argv[1]) : 2;
    int only_read = argc > 2 && strcmp(argv[2], "read-only") == 0;
    if (nthreads < 1 || nthreads > 16 || (argc > 2 && !only_read) || argc > 3) {
        fprintf(stderr, "usage: %s [threads 1-16] [read-only]\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)NM * OUT * IN;
    W = aligned_alloc(64, n * 2);
    if (!W) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t i = 0; i < n; i++) W[i] = (uint16_t)(0x3f00 + ((i * 2654435761u) >> 20) % 256);
    for (int i = 0; i < IN; i++) XP[i] = 1.0f / (i + 1);
    const char *names[] = {"rows4", "rows1", "rows1+pf", "read-only"};
    for (variant = only_read ? 3 : 0; variant < 4; variant++) {
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            pthread_t th[16];
            for (long t = 0; t < nthreads; t++) pthread_create(&th[t], 0, worker, (void *)t);
            for (int t = 0; t < nthreads; t++) pthread_join(th[t], 0);
            double dt = now() - t0;
            if (dt < best) best = dt;
        }
        size_t bytes = (size_t)NM * (OUT / nthreads / 4 * 4) * nthreads * IN * 2;
        printf("%-10s threads %d: %6.2f GB/s\n", names[variant], nthreads, bytes / best / 1e9);
    }
    return 0;
}
