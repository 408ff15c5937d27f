// The CPU's bf16-compute GEMM (Sources/CKernels/gemm_bf16.c, `--compute-dtype bf16`) against its scalar reference
// and a float64 product, then its speed against f32 SGEMM on the shapes of the towers and of prefill. Needs
// AMX-BF16 (Sapphire Rapids or later) for the fast path (this project's CI machine has AVX2 only: there it checks the reference alone).
//
//   cc -O2 -pthread -ISources/CKernels/include Benchmarks/gemm_bf16_peak.c Sources/CKernels/*.c -lm -o /tmp/gemm_bf16_peak
//   (add -DWITH_BLAS … -lopenblas to time OpenBLAS's SGEMM beside it, on widened f32 weights)
//   /tmp/gemm_bf16_peak [THREADS …]          # default: 1 2
//   SGEMM=0 skips the SGEMM timings; CHECK=0 skips the correctness cases (blocking sweeps: -DGB_KP=… -DGB_MC=…)
//
// Correctness: random x (normal-ish, with a few large and tiny values) and bf16 w, shapes with odd `in`, tails of
// rows (not a multiple of 12) and of columns (not of 32), a column block not at 0, a row stride wider than the
// block, accumulate on and off; y poisoned (NaN) before each call, and every element outside the block checked
// untouched. The fast path against the reference: max |Δ| ≤ 1e-5 · Σ_k |x_k w_k| per element (f32 summation
// orders differ); the reference against float64 on bf16-rounded x the same; against float64 on x itself the
// bf16 rounding of x shows (printed, not a pass criterion: ≈ 2⁻⁹ relative).
// Speed: columns split into 2 blocks a thread (as Kernels.gemm does), one pthread per thread, best of 3.
#include "CKernels.h"
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WITH_BLAS
#include <cblas.h>
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (rng >> 11) * (1.0 / 9007199254740992.0); }
static float xval(void) {
    double u = urand() * 2 - 1, r = urand();
    return (float)(r < 0.01 ? u * 300 : r < 0.02 ? u * 1e-3 : u);
}
static uint16_t wval(void) { float f = (float)((urand() * 2 - 1) * 0.2); uint32_t b; memcpy(&b, &f, 4); return (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16); }
static float b2f(uint16_t v) { uint32_t u = (uint32_t)v << 16; float f; memcpy(&f, &u, 4); return f; }
static float rbf(float f) { uint32_t b; memcpy(&b, &f, 4); b = (b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000u; memcpy(&f, &b, 4); return f; }
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

static int check(size_t rows, size_t in, size_t n0, size_t n1, size_t ldy, int accumulate) {
    float *x = malloc(rows * in * 4), *y = malloc(rows * ldy * 4), *yr = malloc(rows * ldy * 4), *y0 = malloc(rows * ldy * 4);
    uint16_t *w = malloc(n1 * in * 2);
    void *scratch = malloc(omni_gemm_bf16w_scratch_words(rows, in, n1 - n0) * 4);
    for (size_t i = 0; i < rows * in; i++) x[i] = xval();
    for (size_t i = 0; i < n1 * in; i++) w[i] = wval();
    for (size_t i = 0; i < rows * ldy; i++) y0[i] = accumulate ? (float)(urand() - 0.5) : NAN;
    memcpy(yr, y0, rows * ldy * 4);
    omni_gemm_bf16w_reference(x, rows, in, w, n0, n1, yr, ldy, accumulate);
    int fast = omni_gemm_bf16w_available(), ok = 1;
    if (fast) { memcpy(y, y0, rows * ldy * 4); ok = omni_gemm_bf16w(x, rows, in, w, n0, n1, y, ldy, accumulate, scratch) == 0; }
    double worst_fast = 0, worst_ref = 0, worst_x = 0;
    for (size_t m = 0; m < rows; m++)
        for (size_t n = 0; n < ldy; n++) {
            size_t i = m * ldy + n;
            if (n < n0 || n >= n1) {   // outside the block: untouched
                int same = isnan(y0[i]) ? isnan(yr[i]) && (!fast || isnan(y[i])) : yr[i] == y0[i] && (!fast || y[i] == y0[i]);
                if (!same) ok = 0;
                continue;
            }
            double exact = 0, exact_x = 0, mag = 0;
            for (size_t k = 0; k < in; k++) {
                double a = rbf(x[m * in + k]), b = b2f(w[n * in + k]);
                exact += a * b; exact_x += (double)x[m * in + k] * b; mag += fabs(a * b);
            }
            double base = accumulate ? y0[i] : 0;
            mag += fabs(base);
            if (mag == 0) mag = 1;
            double er = fabs(yr[i] - (base + exact)) / mag;
            if (!(er <= 1e-5)) ok = 0;
            if (er > worst_ref) worst_ref = er;
            double ex = fabs(yr[i] - (base + exact_x)) / mag;
            if (ex > worst_x) worst_x = ex;
            if (fast) {
                double ef = fabs(y[i] - yr[i]) / mag;
                if (!(ef <= 1e-5)) ok = 0;
                if (ef > worst_fast) worst_fast = ef;
            }
        }
    printf("rows %4zu in %4zu cols [%3zu, %4zu) ldy %4zu acc %d: reference vs f64 %.1e, fast vs reference %s%.1e, "
           "vs unrounded x %.1e  %s\n", rows, in, n0, n1, ldy, accumulate, worst_ref, fast ? "" : "(no AMX-BF16) ",
           worst_fast, worst_x, ok ? "ok" : "FAIL");
    free(x); free(y); free(yr); free(y0); free(w); free(scratch);
    return ok;
}

typedef struct { const float *x; const uint16_t *w; const float *wf; float *y; size_t m, k, n, n0, n1; void *scratch; int blas; } Job;
static void *run_job(void *p) {
    Job *j = p;
#ifdef WITH_BLAS
    if (j->blas) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)j->m, (int)(j->n1 - j->n0), (int)j->k, 1, j->x, (int)j->k,
                    j->wf + j->n0 * j->k, (int)j->k, 0, j->y + j->n0, (int)j->n);
        return 0;
    }
#endif
    omni_gemm_bf16w(j->x, j->m, j->k, j->w, j->n0, j->n1, j->y, j->n, 0, j->scratch);
    return 0;
}

static double timed(size_t m, size_t n, size_t k, int threads, int blas, const float *x, const uint16_t *w, const float *wf, float *y) {
    int parts = threads * 2;
    size_t chunk = ((n + parts - 1) / parts + 15) / 16 * 16;
    Job jobs[256]; pthread_t th[128];
    int nj = 0;
    for (size_t c = 0; c < n; c += chunk) {
        jobs[nj] = (Job){x, w, wf, y, m, k, n, c, c + chunk < n ? c + chunk : n, malloc(omni_gemm_bf16w_scratch_words(m, k, chunk) * 4), blas};
        nj++;
    }
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        // each thread runs its two blocks in turn
        for (int t = 0; t < threads && t < nj; t++) {
            pthread_create(&th[t], 0, run_job, &jobs[t]);
        }
        for (int t = 0; t < threads && t < nj; t++) pthread_join(th[t], 0);
        for (int t = threads; t < nj; t++) pthread_create(&th[t - threads], 0, run_job, &jobs[t]);
        for (int t = threads; t < nj; t++) pthread_join(th[t - threads], 0);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    for (int i = 0; i < nj; i++) free(jobs[i].scratch);
    return 2.0 * m * n * k / best / 1e9;
}

int main(int argc, char **argv) {
    printf("path %s, bf16 GEMM %s\n", omni_cpu_path(), omni_gemm_bf16w_available() ? "AMX-BF16" : "unavailable (reference only)");
    int ok = 1, sgemm = !getenv("SGEMM") || atoi(getenv("SGEMM")), checks = !getenv("CHECK") || atoi(getenv("CHECK"));
    size_t cases[][6] = {   // rows, in, n0, n1, ldy, accumulate
        {1, 1, 0, 1, 1, 0}, {5, 3, 0, 7, 7, 0}, {13, 33, 2, 31, 40, 1}, {12, 384, 0, 32, 32, 0}, {25, 385, 16, 81, 100, 0},
        {100, 1000, 0, 100, 100, 1}, {400, 130, 5, 38, 64, 0}, {397, 2050, 32, 129, 160, 0}, {24, 17, 0, 64, 64, 1},
    };
    for (size_t i = 0; checks && i < sizeof cases / sizeof cases[0]; i++)
        ok &= check(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], (int)cases[i][5]);
    printf("correctness: %s\n", ok ? "all ok" : "FAILED");
    if (!omni_gemm_bf16w_available()) return ok ? 0 : 1;

    size_t shapes[][3] = {   // M, N, K
        {1500, 1280, 1280}, {1500, 5120, 1280}, {1500, 1280, 5120}, {1024, 3420, 1280}, {1024, 1280, 3420},
        {512, 896, 896}, {512, 4864, 896}, {512, 896, 4864}, {2048, 3584, 3584}, {2048, 18944, 3584},
    };
    int nthreads[16], nt = 0;
    for (int i = 1; i < argc && nt < 16; i++) nthreads[nt++] = atoi(argv[i]);
    if (!nt) { nthreads[0] = 1; nthreads[1] = 2; nt = 2; }
#ifdef WITH_BLAS
    openblas_set_num_threads(1);
#endif
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *x = malloc(m * k * 4), *y = malloc(m * n * 4), *wf = malloc(n * k * 4);
        uint16_t *w = malloc(n * k * 2);
        for (size_t i = 0; i < m * k; i++) x[i] = xval();
        for (size_t i = 0; i < n * k; i++) { w[i] = wval(); wf[i] = b2f(w[i]); }
        for (int t = 0; t < nt; t++) {
            double g = timed(m, n, k, nthreads[t], 0, x, w, wf, y);
#ifdef WITH_BLAS
            double f = sgemm ? timed(m, n, k, nthreads[t], 1, x, w, wf, y) : NAN;
            printf("%5zu x %5zu x %5zu threads %3d: bf16 %7.1f GFLOP/s, sgemm %7.1f, ratio %.2f\n", m, n, k, nthreads[t], g, f, g / f);
#else
            printf("%5zu x %5zu x %5zu threads %3d: bf16 %7.1f GFLOP/s\n", m, n, k, nthreads[t], g);
#endif
        }
        free(x); free(y); free(wf); free(w);
    }
    return ok ? 0 : 1;
}
