// Is an int8 tower path worth building on this CPU (AVX2, no VNNI)? Issue 16 asks for the audio and vision towers
// at 1.5× transformers f32, which runs them at ≈ 90% of the SGEMM ceiling here (docs/BENCHMARKS.md, "The towers:
// already at the ceiling on both sides"), so only fewer or cheaper operations per output can get there. This probe
// times the arithmetic an int8 tower linear would use, against OpenBLAS SGEMM on the same shapes:
//   y[M,N] = (x_u8[M,K] · w_s8[N,K]ᵀ − 128·colsum[n]) · sx[m] · sw[n]
// activations quantized per row to s8 and offset to u8 (+128), weights per output row to 7 bits (±63, so
// vpmaddubsw's pair sums cannot saturate: 2·255·63 < 32768), vpmaddubsw + vpmaddwd(ones) + vpaddd per 32 products,
// a 4-row × 16-column register tile over weights packed as [N/16][K/4][16][4]; rows in blocks of 48 so a block of x
// stays in L2 while the weight panels stream. The activations' quantization is timed with the GEMM. Checks the
// integer result exactly against a scalar reference on sampled outputs. Prints GOP/s (2·M·N·K / s) per shape,
// 1 and 2 threads (each thread half of N, as the executor's pool splits a linear), and the ratio to SGEMM.
//
//   cc -O2 -mavx2 -mfma [-DMR=6] Benchmarks/int8_gemm_peak.c -lopenblas -lpthread -lm -o /tmp/int8_gemm_peak && /tmp/int8_gemm_peak
// (MR: rows of the register tile, 4 by default; 6 uses 12 of the 16 ymm registers for accumulators.)
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct {
    int m, n, k;           // this job: all rows, columns [n0, n0 + n) of the whole
    int n0, ldy;
    const float *xf;       // f32 activations [m, k] (quantized by job 0's rows share: each job quantizes its rows)
    uint8_t *xq;           // u8 activations [m, k]
    float *sx;             // per-row scales
    const int8_t *wp;      // packed weights of the whole [N/16][K/4][16][4]
    const int32_t *colsum; // Σ_k w[n, k]
    const float *sw;       // per-column scales
    float *y;              // [m, ldy]
    int q0, q1;            // rows this job quantizes
} Job;

static void quantize_rows(const float *x, int k, int r0, int r1, uint8_t *xq, float *sx) {
    for (int r = r0; r < r1; r++) {
        const float *xr = x + (size_t)r * k;
        float amax = 0;
        for (int i = 0; i < k; i++) amax = fmaxf(amax, fabsf(xr[i]));
        float s = amax > 0 ? amax / 127.f : 1.f, inv = 1.f / s;
        sx[r] = s;
        uint8_t *q = xq + (size_t)r * k;
        for (int i = 0; i < k; i++) q[i] = (uint8_t)(lrintf(xr[i] * inv) + 128);
    }
}

#ifndef MR
#define MR 4
#endif
// MR rows × 16 columns over all of K.
static inline void tile(const uint8_t *x, int k, const int8_t *wp, __m256i acc[MR][2]) {
    const __m256i ones = _mm256_set1_epi16(1);
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int kk = 0; kk < k; kk += 4) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(wp + (size_t)kk * 16));
        __m256i w1 = _mm256_load_si256((const __m256i *)(wp + (size_t)kk * 16 + 32));
        for (int r = 0; r < MR; r++) {
            __m256i xb = _mm256_set1_epi32(*(const int32_t *)(x + (size_t)r * k + kk));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w0), ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(xb, w1), ones));
        }
    }
}

static void gemm_job(Job *j) {
    const int MB = 8 * MR;
    for (int mb = 0; mb < j->m; mb += MB) {
        int me = mb + MB < j->m ? mb + MB : j->m;
        for (int nb = j->n0; nb < j->n0 + j->n; nb += 16) {
            const int8_t *wp = j->wp + (size_t)(nb / 16) * j->k * 16;
            __m256 s0 = _mm256_loadu_ps(j->sw + nb), s1 = _mm256_loadu_ps(j->sw + nb + 8);
            __m256i c0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(j->colsum + nb)), 7);
            __m256i c1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(j->colsum + nb + 8)), 7);
            for (int m = mb; m < me; m += MR) {
                __m256i acc[MR][2];
                tile(j->xq + (size_t)m * j->k, j->k, wp, acc);
                for (int r = 0; r < MR && m + r < me; r++) {
                    __m256 sx = _mm256_set1_ps(j->sx[m + r]);
                    float *y = j->y + (size_t)(m + r) * j->ldy + nb;
                    _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][0], c0)), s0), sx));
                    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][1], c1)), s1), sx));
                }
            }
        }
    }
}

static pthread_barrier_t barrier;
static void *run_int8(void *p) {
    Job *j = p;
    quantize_rows(j->xf, j->k, j->q0, j->q1, j->xq, j->sx);
    pthread_barrier_wait(&barrier);
    gemm_job(j);
    return NULL;
}

typedef struct { int m, n, k; const float *x, *w; float *y; int ldy; } SJob;
static void *run_sgemm(void *p) {
    SJob *j = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, j->n, j->k, 1, j->x, j->k, j->w, j->k, 0, j->y, j->ldy);
    return NULL;
}

static double time_int8(int m, int n, int k, int threads, const float *xf, uint8_t *xq, float *sx, const int8_t *wp,
                        const int32_t *colsum, const float *sw, float *y) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t th[2]; Job jobs[2];
        pthread_barrier_init(&barrier, NULL, threads);
        double t0 = now();
        int half = (n / threads + 15) / 16 * 16;
        for (int t = 0; t < threads; t++) {
            int n0 = t * half, n1 = t == threads - 1 ? n : n0 + half;
            int q0 = t * (m / threads), q1 = t == threads - 1 ? m : q0 + m / threads;
            jobs[t] = (Job){m, n1 - n0, k, n0, n, xf, xq, sx, wp, colsum, sw, y, q0, q1};
            pthread_create(&th[t], NULL, run_int8, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
        double dt = now() - t0;
        pthread_barrier_destroy(&barrier);
        if (dt < best) best = dt;
    }
    return best;
}

static double time_sgemm(int m, int n, int k, int threads, const float *x, const float *w, float *y) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t th[2]; SJob jobs[2];
        double t0 = now();
        int half = (n / threads + 15) / 16 * 16;
        for (int t = 0; t < threads; t++) {
            int n0 = t * half, n1 = t == threads - 1 ? n : n0 + half;
            jobs[t] = (SJob){m, n1 - n0, k, x, w + (size_t)n0 * k, y + n0, n};
            pthread_create(&th[t], NULL, run_sgemm, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

int main(void) {
    openblas_set_num_threads(1);
    // The towers' linears at the 7B shapes: audio (1500 positions, d 1280, ffn 5120), vision (1024 patches, d 1280,
    // ffn 3420 rounded to 3424 here, a multiple of 16).
    int shapes[][3] = {{1500, 1280, 1280}, {1500, 5120, 1280}, {1500, 1280, 5120}, {1024, 3424, 1280}, {1024, 1280, 3424}};
    srand(7);
    int failures = 0;
    printf("%-22s %9s %9s %9s %9s %7s %7s\n", "M×N×K", "sgemm 1t", "int8 1t", "sgemm 2t", "int8 2t", "1t x", "2t x");
    for (int s = 0; s < 5; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *x = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *y = malloc(sizeof(float) * m * n);
        for (size_t i = 0; i < (size_t)m * k; i++) x[i] = (float)rand() / RAND_MAX * 2 - 1;
        for (size_t i = 0; i < (size_t)n * k; i++) w[i] = ((float)rand() / RAND_MAX * 2 - 1) * 0.05f;
        // Weights per output row to ±63, packed [N/16][K/4][16][4]; column sums.
        int8_t *wq = malloc((size_t)n * k), *wp = aligned_alloc(32, (size_t)n * k);
        float *sw = malloc(sizeof(float) * n);
        int32_t *colsum = malloc(sizeof(int32_t) * n);
        for (int r = 0; r < n; r++) {
            float amax = 0;
            for (int i = 0; i < k; i++) amax = fmaxf(amax, fabsf(w[(size_t)r * k + i]));
            sw[r] = amax > 0 ? amax / 63.f : 1.f;
            int32_t cs = 0;
            for (int i = 0; i < k; i++) { int8_t q = (int8_t)lrintf(w[(size_t)r * k + i] / sw[r]); wq[(size_t)r * k + i] = q; cs += q; }
            colsum[r] = cs;
        }
        for (int nb = 0; nb < n; nb += 16)
            for (int kk = 0; kk < k; kk += 4)
                for (int c = 0; c < 16; c++)
                    for (int b = 0; b < 4; b++)
                        wp[(size_t)(nb / 16) * k * 16 + (size_t)kk * 16 + c * 4 + b] = wq[(size_t)(nb + c) * k + kk + b];
        uint8_t *xq = calloc((size_t)(m + MR) * k, 1);  // MR rows of padding: the last tile may read past m
        float *sx = malloc(sizeof(float) * m);

        double ts1 = time_sgemm(m, n, k, 1, x, w, y), ts2 = time_sgemm(m, n, k, 2, x, w, y);
        double ti1 = time_int8(m, n, k, 1, x, xq, sx, wp, colsum, sw, y), ti2 = time_int8(m, n, k, 2, x, xq, sx, wp, colsum, sw, y);
        // Exact check of the integer path on sampled outputs (the last run's y).
        int bad = 0;
        for (int t = 0; t < 200; t++) {
            int r = rand() % m, c = rand() % n;
            int64_t acc = 0;
            for (int i = 0; i < k; i++) acc += (int64_t)(xq[(size_t)r * k + i] - 128) * wq[(size_t)c * k + i];
            float want = (float)acc * sw[c] * sx[r];
            if (fabsf(y[(size_t)r * n + c] - want) > 1e-4f * fmaxf(1.f, fabsf(want))) bad++;
        }
        // And how far the quantized product is from the f32 one (relative to the output's largest value).
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w, k, 0, y, n);
        float *yq = malloc(sizeof(float) * m * n);
        time_int8(m, n, k, 2, x, xq, sx, wp, colsum, sw, yq);
        double maxd = 0, maxy = 0;
        for (size_t i = 0; i < (size_t)m * n; i++) { maxd = fmax(maxd, fabs(yq[i] - y[i])); maxy = fmax(maxy, fabs(y[i])); }
        double ops = 2.0 * m * n * k;
        char label[64];
        snprintf(label, sizeof label, "%d×%d×%d", m, n, k);
        printf("%-22s %9.1f %9.1f %9.1f %9.1f %7.2f %7.2f   GOP/s; int8 vs f32 max err %.2e of max|y|%s\n", label,
               ops / ts1 / 1e9, ops / ti1 / 1e9, ops / ts2 / 1e9, ops / ti2 / 1e9, ts1 / ti1, ts2 / ti2, maxd / maxy,
               bad ? "  CHECK FAILED" : "");
        failures += bad > 0;
        free(x); free(w); free(y); free(yq); free(wq); free(wp); free(sw); free(colsum); free(xq); free(sx);
    }
    return failures ? 1 : 0;
}
