// How close a decode step's weight stream gets to the read ceiling through the project's own pool and matvec
// kernels, as the number of parallel regions per layer and the tasks per region change (Qwen2.5-0.5B text
// shapes: 24 layers of q, k, v, o, gate, up, down, then the LM head; weights random, activations constant).
//
//   cc -O2 -pthread -ISources/CKernels/include Benchmarks/decode_regions.c Sources/CKernels/*.c -lm -o /tmp/decode_regions
//   /tmp/decode_regions DTYPE THREADS [TOKENS] [quick]   # DTYPE bf16 | q8_0 | q8_0r8; quick: only free and 4/layer K=32
//
// q8_0r8 streams the same bytes through the kernel for Q8_0 rows interleaved by 8 (matvec_q8r8.c), the layout the
// executor binds Q8_0 linear weights in.
//
// Prints tokens/s and weight GB/s (median of TOKENS steps) for:
//   free        each thread streams its fixed half of every matrix with no synchronisation at all (the kernel's
//               own limit on this memory system; read-only of the same bytes is matvec_streams.c's ceiling)
//   7/layer     one region per linear (main's executor), tasks = threads × K
//   4/layer     q/k/v and gate/up as one region each, o and down alone
//   +gap U      the 4/layer step with U µs of serial work on the caller before every region (norms, RoPE,
//               attention, residuals, the executor's own bookkeeping)
#include "CKernels.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { H = 896, KV = 128, I = 4864, V = 151936, L = 24 };
typedef struct { const uint8_t *w; float *y; size_t in, out; } Mat;
static Mat mats[L * 7 + 1];
static int q8, r8, nthreads;
static float *xf;            // x as f32 (4864 wide: the widest input)
static uint8_t *xq;          // x quantized / prepared
static float *xp;            // x prepared for bf16

static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }
static size_t row_bytes(size_t in) { return q8 ? in / 32 * 34 : in * 2; }

static void mv(const Mat *m, size_t r0, size_t r1) {
    if (r8) omni_matvec_q8_0_r8(m->w, xq, m->y, m->in, r0, r1);
    else if (q8) omni_matvec_q8_0(m->w, xf, xq, m->y, m->in, r0, r1);
    else omni_matvec_bf16_prepared((const uint16_t *)m->w, xp, xf, m->y, m->in, r0, r1);
}

// A region: tasks over the row ranges of up to 3 matrices, every matrix cut at the same row count.
typedef struct { const Mat *m; size_t r0, r1; } Task;
static Task tasks[4096];
static void run_task(void *ctx, long i) { (void)ctx; mv(tasks[i].m, tasks[i].r0, tasks[i].r1); }

static void region(const Mat **ms, int n, int k, double gap_us) {
    if (gap_us > 0) { double t = now() + gap_us * 1e-6; while (now() < t) {} }
    size_t total = 0;
    for (int i = 0; i < n; i++) total += ms[i]->out;
    size_t parts = (size_t)nthreads * k, per16 = (total + 15) / 16;
    if (parts > per16) parts = per16;
    size_t chunk = ((total + parts - 1) / parts + 15) / 16 * 16;
    long nt = 0;
    for (int i = 0; i < n; i++)
        for (size_t r = 0; r < ms[i]->out; r += chunk)
            tasks[nt++] = (Task){ms[i], r, r + chunk < ms[i]->out ? r + chunk : ms[i]->out};
    omni_pool_run(nt, run_task, 0, nthreads);
}

typedef struct { int t; } FreeArg;
static void *free_worker(void *a) {
    int t = ((FreeArg *)a)->t;
    for (int i = 0; i < L * 7 + 1; i++) {
        size_t per = mats[i].out / nthreads;
        size_t r0 = t * per, r1 = t == nthreads - 1 ? mats[i].out : r0 + per;
        mv(&mats[i], r0, r1);
    }
    return 0;
}

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s bf16|q8_0|q8_0r8 THREADS [TOKENS]\n", argv[0]); return 2; }
    r8 = strcmp(argv[1], "q8_0r8") == 0;
    q8 = r8 || strcmp(argv[1], "q8_0") == 0;
    nthreads = atoi(argv[2]);
    int tokens = argc > 3 ? atoi(argv[3]) : 16;
    int quick = argc > 4 && strcmp(argv[4], "quick") == 0;
    size_t shapes[7][2] = {{H, H}, {KV, H}, {KV, H}, {H, H}, {I, H}, {I, H}, {H, I}};
    size_t bytes = 0;
    for (int l = 0; l < L; l++) for (int j = 0; j < 7; j++) {
        Mat *m = &mats[l * 7 + j];
        m->out = shapes[j][0]; m->in = shapes[j][1];
        bytes += m->out * row_bytes(m->in);
    }
    mats[L * 7] = (Mat){0, 0, H, V};
    bytes += (size_t)V * row_bytes(H);
    uint8_t *all = aligned_alloc(64, (bytes + 63) / 64 * 64);
    float *ys = aligned_alloc(64, sizeof(float) * (V + 8 * I));
    xf = malloc(sizeof(float) * I); xp = malloc(sizeof(float) * I); xq = malloc(I / 32 * 34 + 64);
    if (!all || !ys || !xf || !xp || !xq) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t i = 0; i < bytes; i++) all[i] = (uint8_t)((i * 2654435761u) >> 13);
    if (q8) for (size_t b = 0; b + 34 <= bytes; b += 34) { all[b] = 0x00; all[b + 1] = 0x20; }   // f16 scales 2^-7
    else for (size_t i = 1; i < bytes; i += 2) all[i] = 0x3c;
    size_t off = 0;
    for (int i = 0; i < L * 7 + 1; i++) { mats[i].w = all + off; mats[i].y = ys; off += mats[i].out * row_bytes(mats[i].in); }
    for (int i = 0; i < I; i++) xf[i] = 1.0f / (i + 1);
    omni_quantize_q8_0(xf, xq, I);
    omni_bf16_prepare_x(xf, xp, H);   // prepared per width in the real executor; timing does not depend on it

    const char *names[] = {"free", "7/layer K=8", "7/layer K=32", "4/layer K=8", "4/layer K=32", "4/layer K=32 +gap 5",
                           "4/layer K=32 +gap 20"};
    for (int v = 0; v < 7; v++) {
        if (quick && v != 0 && v != 4) continue;
        double *ts = malloc(sizeof(double) * tokens);
        for (int s = 0; s < tokens + 1; s++) {
            double t0 = now();
            if (v == 0) {
                pthread_t th[64]; FreeArg args[64];
                for (int t = 0; t < nthreads; t++) { args[t].t = t; pthread_create(&th[t], 0, free_worker, &args[t]); }
                for (int t = 0; t < nthreads; t++) pthread_join(th[t], 0);
            } else {
                int k = (v == 1 || v == 3) ? 8 : 32;
                double gap = v == 5 ? 5 : v == 6 ? 20 : 0;
                for (int l = 0; l < L; l++) {
                    const Mat *m = &mats[l * 7];
                    if (v <= 2) {
                        for (int j = 0; j < 7; j++) { const Mat *one[1] = {&m[j]}; region(one, 1, k, gap); }
                    } else {
                        const Mat *qkv[3] = {&m[0], &m[1], &m[2]}, *o[1] = {&m[3]}, *gu[2] = {&m[4], &m[5]}, *d[1] = {&m[6]};
                        region(qkv, 3, k, gap); region(o, 1, k, gap); region(gu, 2, k, gap); region(d, 1, k, gap);
                    }
                }
                const Mat *head[1] = {&mats[L * 7]};
                region(head, 1, k, gap);
            }
            if (s > 0) ts[s - 1] = now() - t0;
        }
        qsort(ts, tokens, sizeof(double), cmp);
        double med = ts[tokens / 2];
        printf("%-22s %s threads %d: %7.2f tokens/s  %6.2f GB/s (median of %d; best %.2f GB/s)\n", names[v], argv[1],
               nthreads, 1 / med, bytes / med / 1e9, tokens, bytes / ts[0] / 1e9);
        free(ts);
    }
    printf("weights %.0f MB a step\n", bytes / 1e6);
    return 0;
}
