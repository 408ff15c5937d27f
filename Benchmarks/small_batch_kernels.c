// Kernel-only timing of the small-batch linear (Sources/CKernels/matmul_small.c, a batched decode step's m rows)
// against m single-row matvecs, over Qwen2.5-0.5B's layer shapes (q, k, v, o, gate, up, down), Q8_0 or bf16 weights.
// Checks first that every row of the small-batch product equals its single-row matvec bit for bit (m = 1 … 16).
// Times are the process's CPU time (best of --reps), one thread, so other load on the machine inflates them less
// than wall time would (it still shares caches and cores); compare builds A B A B.
//
//   clang -O2 -ISources/CKernels/include -ISources/CKernels Benchmarks/small_batch_kernels.c Sources/CKernels/*.c \
//       -lpthread -lm -o /tmp/small_batch_kernels
//   /tmp/small_batch_kernels q8_0 [layers 8] [reps 5]     # 8 layers = 127 MB of Q8_0, past L3; 1 layer ≈ in cache
//   /tmp/small_batch_kernels bf16 [layers] [reps]
#include "CKernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { size_t in, out; void *w; } Mat;   // w: (out, in) Q8_0 blocks or bf16

static int q8;
static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)rs; }
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/// y (m, out) for one matrix: batched (small-batch kernel) or m single-row matvecs. x prepared per row: Q8_0 blocks
/// (xq, m × in/32 × 34 bytes) or the bf16 kernels' layout (xp, m × in floats) next to x (m × in).
static void product(const Mat *M, int batched, size_t m, const float *x, const float *xp, const uint8_t *xq, float *y) {
    size_t xs = M->in / 32 * 34;
    if (q8) {
        if (batched) omni_matmul_small_q8_0(M->w, xq, y, M->in, M->out, m, 0, M->out);
        else for (size_t r = 0; r < m; r++) omni_matvec_q8_0(M->w, NULL, xq + r * xs, y + r * M->out, M->in, 0, M->out);
    } else {
        if (batched) omni_matmul_small_bf16_prepared(M->w, xp, x, y, M->in, M->out, m, 0, M->out);
        else for (size_t r = 0; r < m; r++)
            omni_matvec_bf16_prepared(M->w, xp + r * M->in, x + r * M->in, y + r * M->out, M->in, 0, M->out);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "q8_0") && strcmp(argv[1], "bf16"))) {
        fprintf(stderr, "usage: %s q8_0|bf16 [layers] [reps]\n", argv[0]);
        return 2;
    }
    q8 = strcmp(argv[1], "q8_0") == 0;
    int layers = argc > 2 ? atoi(argv[2]) : 8, reps = argc > 3 ? atoi(argv[3]) : 5;
    if (layers < 1 || reps < 1) { fprintf(stderr, "layers and reps must be ≥ 1\n"); return 2; }
    static const size_t shapes[7][2] = {{896, 896}, {896, 128}, {896, 128}, {896, 896}, {896, 4864}, {896, 4864}, {4864, 896}};
    size_t nm = (size_t)layers * 7;
    Mat *mats = calloc(nm, sizeof *mats);
    double macs = 0, bytes = 0;
    for (size_t i = 0; i < nm; i++) {
        Mat *M = &mats[i];
        M->in = shapes[i % 7][0]; M->out = shapes[i % 7][1];
        size_t n = M->in * M->out;
        if (q8) {
            uint8_t *w = malloc(n / 32 * 34);
            for (size_t b = 0; b < n / 32; b++) {
                uint16_t h = (uint16_t)(0x1c00 + (rnd() & 0x3ff));   // f16 scales around 2^-8
                memcpy(w + b * 34, &h, 2);
                for (int j = 0; j < 32; j++) w[b * 34 + 2 + j] = (uint8_t)(rnd() % 255 + 129);   // -127 … 127
            }
            M->w = w; bytes += n / 32 * 34;
        } else {
            uint16_t *w = malloc(n * 2);
            for (size_t k = 0; k < n; k++) w[k] = (uint16_t)((rnd() & 0x8000) | (0x3c00 + (rnd() & 0x3ff)));
            M->w = w; bytes += n * 2;
        }
        macs += (double)n;
    }
    const size_t maxIn = 4864, maxOut = 4864, maxM = 16;
    float *x = malloc(maxM * maxIn * 4), *xp = malloc(maxM * maxIn * 4), *ya = malloc(maxM * maxOut * 4),
          *yb = malloc(maxM * maxOut * 4);
    uint8_t *xq = malloc(maxM * maxIn / 32 * 34);
    for (size_t i = 0; i < maxM * maxIn; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 997.0f;

    // Bit identity, m = 1 … 16, on each of the 7 shapes.
    for (size_t m = 1; m <= maxM; m++)
        for (size_t i = 0; i < 7 && i < nm; i++) {
            const Mat *M = &mats[i];
            for (size_t r = 0; r < m; r++) {
                omni_quantize_q8_0(x + r * M->in, xq + r * (M->in / 32 * 34), M->in);
                omni_bf16_prepare_x(x + r * M->in, xp + r * M->in, M->in);
            }
            product(M, 0, m, x, xp, xq, ya);
            product(M, 1, m, x, xp, xq, yb);
            if (memcmp(ya, yb, m * M->out * 4) != 0) {
                printf("MISMATCH: m %zu, shape (%zu, %zu)\n", m, M->out, M->in);
                return 1;
            }
        }
    printf("%s, %d layers (%.0f MB of weights), path %s, 1 thread, CPU time best of %d; every row bit-identical to "
           "its matvec (m 1-16)\n", argv[1], layers, bytes / 1e6, omni_cpu_path(), reps);
    // Every timing uses x prepared for the widest input; rows are laid out per matrix's `in` from the same buffers.
    for (size_t r = 0; r < maxM; r++) {
        omni_quantize_q8_0(x + r * maxIn, xq + r * (maxIn / 32 * 34), maxIn);
        omni_bf16_prepare_x(x + r * maxIn, xp + r * maxIn, maxIn);
    }
    static const size_t ms[] = {1, 2, 4, 5, 8, 16};
    for (size_t k = 0; k < sizeof ms / sizeof *ms; k++) {
        size_t m = ms[k];
        double best[2] = {1e30, 1e30};
        for (int rep = 0; rep < reps; rep++)
            for (int batched = 0; batched < 2; batched++) {
                if (m == 1 && batched) continue;
                double t0 = cpu_now();
                for (size_t i = 0; i < nm; i++) product(&mats[i], batched, m, x, xp, xq, ya);
                double t = cpu_now() - t0;
                if (t < best[batched]) best[batched] = t;
            }
        if (m == 1) printf("m %2zu: matvec %8.2f ms (%.1f GB/s of weights)\n", m, best[0] * 1e3, bytes / best[0] / 1e9);
        else printf("m %2zu: %zu matvecs %8.2f ms, small-batch %8.2f ms (%.2fx), %.1f GMAC/s\n", m, m, best[0] * 1e3,
                    best[1] * 1e3, best[0] / best[1], macs * (double)m / best[1] / 1e9);
    }
    return 0;
}
