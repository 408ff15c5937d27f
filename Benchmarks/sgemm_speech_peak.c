// SGEMM ceiling on token2wav's shapes (DiT linears at 10 s of speech, CFG batched: 2000 rows; BigVGAN's
// resblock convolutions as GEMMs at 1000 mel frames) and the towers', as the executor calls OpenBLAS: one thread
// per core, each taking a block of the output (the pool's split), OpenBLAS itself single-threaded. Prints GFLOP/s
// (best of 3) per shape for 1 thread and for 2 threads. Compare with Benchmarks/sgemm_speech_peak.py (torch.mm).
//
//   cc -O2 Benchmarks/sgemm_speech_peak.c -lopenblas -lpthread -o /tmp/sgemm_speech_peak && /tmp/sgemm_speech_peak
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

// Linear: y[M, N] = x[M, K] · W[N, K]ᵀ, threads split N. Conv (as GEMM): y[M, N] = W[M, K] · cols[K, N], threads
// split M (the pool splits a convolution's output channels).
typedef struct { int conv, m, n, k; const float *a, *b; float *y; int lda, ldb, ldy; } Job;

static void *run(void *p) {
    Job *j = p;
    if (j->conv)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, j->n, j->k, 1, j->a, j->lda, j->b, j->ldb, 0, j->y, j->ldy);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, j->n, j->k, 1, j->a, j->lda, j->b, j->ldb, 0, j->y, j->ldy);
    return NULL;
}

static double timeit(int conv, int m, int n, int k, int threads, const float *a, const float *b, float *y) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t th[2]; Job jobs[2];
        double t0 = now();
        for (int t = 0; t < threads; t++) {
            if (conv) {
                int part = (m / threads + 7) / 8 * 8, m0 = t * part, m1 = t == threads - 1 ? m : m0 + part;
                jobs[t] = (Job){1, m1 - m0, n, k, a + (size_t)m0 * k, b, y + (size_t)m0 * n, k, n, n};
            } else {
                int part = (n / threads + 15) / 16 * 16, n0 = t * part, n1 = t == threads - 1 ? n : n0 + part;
                jobs[t] = (Job){0, m, n1 - n0, k, a, b + (size_t)n0 * k, y + n0, k, k, n};
            }
            if (t > 0) pthread_create(&th[t], NULL, run, &jobs[t]);
        }
        run(&jobs[0]);
        for (int t = 1; t < threads; t++) pthread_join(th[t], NULL);
        double s = now() - t0;
        if (s < best) best = s;
    }
    return 2.0 * m * n * k / best / 1e9;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1);
    // {conv, M, N, K}
    int shapes[][4] = {
        {0, 2000, 1024, 1024}, {0, 2000, 2048, 1024}, {0, 2000, 1024, 2048},            // DiT q/k/v/o, ff up, ff down
        {1, 768, 5000, 768 * 3}, {1, 768, 5000, 768 * 11},                              // BigVGAN stage 0 convs k 3, 11
        {1, 384, 15000, 384 * 7}, {1, 192, 30000, 192 * 7}, {1, 96, 60000, 96 * 7},     // stages 1-3, k 7
        {1, 48, 120000, 48 * 7}, {1, 24, 240000, 24 * 7},                               // stages 4-5, k 7
        {0, 1500, 1280, 1280}, {0, 1500, 5120, 1280}, {0, 1024, 3420, 1280},            // audio q/k/v/o, fc1; vision up
    };
    const char *names[] = {"DiT q/k/v/o 2000x1024x1024", "DiT ff up 2000x2048x1024", "DiT ff down 2000x1024x2048",
                           "BigVGAN s0 conv k3 768x5000x2304", "BigVGAN s0 conv k11 768x5000x8448",
                           "BigVGAN s1 conv k7 384x15000x2688", "BigVGAN s2 conv k7 192x30000x1344",
                           "BigVGAN s3 conv k7 96x60000x672", "BigVGAN s4 conv k7 48x120000x336",
                           "BigVGAN s5 conv k7 24x240000x168", "audio q/k/v/o 1500x1280x1280", "audio fc1 1500x5120x1280",
                           "vision gate/up 1024x3420x1280"};
    int count = sizeof shapes / sizeof shapes[0];
    size_t maxa = 0, maxb = 0, maxy = 0;
    for (int i = 0; i < count; i++) {
        size_t m = shapes[i][1], n = shapes[i][2], k = shapes[i][3];
        size_t a = m * k, b = shapes[i][0] ? k * n : n * k, y = m * n;
        if (a > maxa) maxa = a;
        if (b > maxb) maxb = b;
        if (y > maxy) maxy = y;
    }
    float *a = malloc(maxa * 4), *b = malloc(maxb * 4), *y = malloc(maxy * 4);
    for (size_t i = 0; i < maxa; i++) a[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    for (size_t i = 0; i < maxb; i++) b[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
    for (size_t i = 0; i < maxy; i++) y[i] = 0;
    printf("%-36s %10s %10s\n", "shape (M x N x K)", "1 thread", "2 threads");
    for (int i = 0; i < count; i++) {
        int conv = shapes[i][0], m = shapes[i][1], n = shapes[i][2], k = shapes[i][3];
        double g1 = timeit(conv, m, n, k, 1, a, b, y), g2 = timeit(conv, m, n, k, 2, a, b, y);
        printf("%-36s %10.1f %10.1f\n", names[i], g1, g2);
        fflush(stdout);
    }
    return 0;
}
