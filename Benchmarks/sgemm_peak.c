// SGEMM ceiling on the towers' shapes: OpenBLAS sgemm (row-major x[M,K] · W[N,K]ᵀ, as Kernels.linear calls it),
// one thread, and two threads each taking half of W's rows (as the executor's pool splits a linear), and the
// old 64-row panel pattern. Prints GFLOP/s per shape.
//
//   cc -O2 Benchmarks/sgemm_peak.c -lopenblas -lpthread -o /tmp/sgemm_peak && /tmp/sgemm_peak
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { int m, n, k, panel; const float *x, *w; float *y; int ldy; } Job;

static void *run(void *p) {
    Job *j = p;
    if (j->panel == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, j->n, j->k, 1, j->x, j->k, j->w, j->k, 0, j->y, j->ldy);
    } else {
        for (int r = 0; r < j->n; r += j->panel) {
            int rows = j->n - r < j->panel ? j->n - r : j->panel;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, rows, j->k, 1, j->x, j->k, j->w + (size_t)r * j->k,
                        j->k, 0, j->y + r, j->ldy);
        }
    }
    return NULL;
}

static double timeit(int m, int n, int k, int threads, int panel, const float *x, const float *w, float *y) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        pthread_t th[2]; Job jobs[2];
        double t0 = now();
        int half = (n / threads + 15) / 16 * 16;
        for (int t = 0; t < threads; t++) {
            int n0 = t * half, n1 = t == threads - 1 ? n : n0 + half;
            jobs[t] = (Job){m, n1 - n0, k, panel, x, w + (size_t)n0 * k, y + n0, n};
            if (t > 0) pthread_create(&th[t], NULL, run, &jobs[t]);
        }
        run(&jobs[0]);
        for (int t = 1; t < threads; t++) pthread_join(th[t], NULL);
        double s = now() - t0;
        if (s < best) best = s;
    }
    return 2.0 * m * n * k / best / 1e9;
}

int main(void) {
    openblas_set_num_threads(1);
    int shapes[][3] = {{1500, 1280, 1280}, {1500, 3840, 1280}, {1500, 5120, 1280}, {1500, 1280, 5120},
                       {1024, 3420, 1280}, {1024, 1280, 3420}, {100, 100, 64}};
    const char *names[] = {"audio q/k/v/o", "audio qkv fused", "audio fc1", "audio fc2", "vision gate/up", "vision down",
                           "attention window 100x100x64"};
    size_t maxe = 1500 * 5120;
    float *x = malloc(maxe * 4), *w = malloc(5120 * 5120 * 4), *y = malloc(maxe * 4);
    for (size_t i = 0; i < maxe; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
    for (size_t i = 0; i < 5120 * 5120; i++) w[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
    printf("%-28s %6s %6s %6s  %12s %12s %14s\n", "shape", "M", "N", "K", "1 thr GF/s", "2 thr GF/s", "2 thr 64-panel");
    for (int s = 0; s < 7; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        printf("%-28s %6d %6d %6d  %12.1f %12.1f %14.1f\n", names[s], m, n, k, timeit(m, n, k, 1, 0, x, w, y),
               timeit(m, n, k, 2, 0, x, w, y), timeit(m, n, k, 2, 64, x, w, y));
        fflush(stdout);
    }
    return 0;
}
