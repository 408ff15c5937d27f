// Kernel-only check and timing of the Q8_0 kernels for rows interleaved by 8 (Sources/CKernels/matvec_q8r8.c) over
// Qwen2.5-0.5B's layer shapes (q, k, v, o, gate, up, down), random quants in [-128, 127] and scales of both signs.
// Checks first, per shape: packing and row dequantization against the standard layout; every batch row (m = 1 … 16,
// whole and ragged row ranges) equal to its single-row product bit for bit; the widest path (VNNI / AVX2) equal to
// the portable one bit for bit; the error against Σ w·x in double over the dequantized values. Then times the
// standard kernels (omni_matvec_q8_0 / omni_matmul_small_q8_0) against the interleaved ones: process CPU time, one
// thread, best of REPS, so other load inflates them less than wall time would; compare A B A B.
//
//   clang -O2 -ISources/CKernels/include Benchmarks/q8_rows8_kernels.c Sources/CKernels/*.c -lpthread -lm
//       -o /tmp/q8_rows8_kernels   (clang, as SwiftPM builds CKernels: GCC spills the 8-row tile, 1.1x)
//   /tmp/q8_rows8_kernels [layers 8] [reps 5] [q4_0]   # 8 layers = 127 MB of Q8_0, past L3; q4_0: the Q4_0 kernels
//                                                      # (standard: omni_matvec_q4_0 per row, it has no batch kernel)
#include "CKernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
typedef struct { size_t in, out; uint8_t *w, *wx; } Mat;
static int q4;   // Q4_0 instead of Q8_0
static size_t bb(void) { return q4 ? 18 : 34; }
static void pack(const uint8_t *s, uint8_t *d, size_t in, size_t rows) { if (q4) omni_q4_0_r8_pack(s, d, in, rows); else omni_q8_0_r8_pack(s, d, in, rows); }
static void deq(const uint8_t *s, float *d, size_t n) { if (q4) omni_dequantize_q4_0(s, d, n); else omni_dequantize_q8_0(s, d, n); }
static void deq_rows(const uint8_t *w, float *d, size_t in, size_t r0, size_t r1) {
    if (q4) omni_q4_0_r8_dequantize_rows(w, d, in, r0, r1); else omni_q8_0_r8_dequantize_rows(w, d, in, r0, r1);
}
static void mm_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m, size_t r0, size_t r1) {
    if (q4) omni_matmul_small_q4_0_r8(w, xq, y, in, out, m, r0, r1); else omni_matmul_small_q8_0_r8(w, xq, y, in, out, m, r0, r1);
}
static void mv_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1) {
    if (q4) omni_matvec_q4_0_r8(w, xq, y, in, r0, r1); else omni_matvec_q8_0_r8(w, xq, y, in, r0, r1);
}
static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return (uint32_t)rs; }
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    int layers = argc > 1 ? atoi(argv[1]) : 8, reps = argc > 2 ? atoi(argv[2]) : 5;
    q4 = argc > 3 && strcmp(argv[3], "q4_0") == 0;
    static const size_t shapes[7][2] = {{896, 896}, {896, 128}, {896, 128}, {896, 896}, {896, 4864}, {896, 4864}, {4864, 896}};
    size_t nm = layers * 7; Mat *mats = calloc(nm, sizeof *mats); double macs = 0;
    for (size_t i = 0; i < nm; i++) {
        Mat *M = &mats[i]; M->in = shapes[i % 7][0]; M->out = shapes[i % 7][1];
        size_t n = M->in * M->out; M->w = malloc(n / 32 * bb()); M->wx = aligned_alloc(64, n / 32 * 34);
        for (size_t b = 0; b < n / 32; b++) {
            uint16_t h = (uint16_t)(0x1c00 + (rnd() & 0x3ff)); if (rnd() & 1) h |= 0x8000; memcpy(M->w + b * bb(), &h, 2);
            for (size_t j = 2; j < bb(); j++) M->w[b * bb() + j] = (uint8_t)(rnd() % 256);   // Q8_0: -128 … 127
        }
        pack(M->w, M->wx, M->in, M->out);
        macs += n;
    }
    const size_t maxIn = 4864, maxM = 16;
    float *x = malloc(maxM * maxIn * 4), *ya = malloc(maxM * maxIn * 4), *yb = malloc(maxM * maxIn * 4), *yc = malloc(maxM * maxIn * 4);
    float *d1 = malloc(maxIn * 4864 * 4), *d2 = malloc(maxIn * 4864 * 4);
    uint8_t *xq = malloc(maxM * maxIn / 32 * 34), *xp4 = malloc(omni_q4_0_prepared_bytes(maxIn));
    for (size_t i = 0; i < maxM * maxIn; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 997.0f * ((i % 97) == 0 ? 50 : 1);
    for (size_t i = 0; i < 7; i++) {
        Mat *M = &mats[i]; size_t nb = M->in / 32;
        for (size_t r = 0; r < maxM; r++) omni_quantize_q8_0(x + r * M->in, xq + r * nb * 34, M->in);
        deq(M->w, d1, M->in * M->out);
        deq_rows(M->wx, d2, M->in, 0, M->out);
        if (memcmp(d1, d2, M->in * M->out * 4)) { printf("dequantize mismatch shape %zu\n", i); return 1; }
        deq_rows(M->wx, d2, M->in, 5, 27);
        if (memcmp(d1 + 5 * M->in, d2, 22 * M->in * 4)) { printf("dequantize rows mismatch shape %zu\n", i); return 1; }
        for (size_t m = 1; m <= maxM; m++) {
            memset(ya, 0, maxM * M->out * 4);
            mm_r8(M->wx, xq, ya, M->in, M->out, m, 0, M->out);
            // ragged ranges
            mm_r8(M->wx, xq, yc, M->in, M->out, m, 0, 13);
            mm_r8(M->wx, xq, yc, M->in, M->out, m, 13, M->out - 3);
            mm_r8(M->wx, xq, yc, M->in, M->out, m, M->out - 3, M->out);
            for (size_t r = 0; r < m; r++) mv_r8(M->wx, xq + r * nb * 34, yb + r * M->out, M->in, 0, M->out);
            if (memcmp(ya, yb, m * M->out * 4) || memcmp(ya, yc, m * M->out * 4)) { printf("batch %zu != single, shape %zu\n", m, i); return 1; }
        }
        omni_cpu_override(0);
        mm_r8(M->wx, xq, yc, M->in, M->out, maxM, 0, M->out);
        omni_cpu_override(~0);
        if (memcmp(ya, yc, maxM * M->out * 4)) { printf("portable != avx2, shape %zu\n", i); return 1; }
        double maxerr = 0;
        for (size_t r = 0; r < maxM; r++) for (size_t o = 0; o < M->out; o++) {
            double s = 0, sa = 0;
            for (size_t b = 0; b < nb; b++) {
                float dw[32], dx[32]; deq(M->w + (o * nb + b) * bb(), dw, 32); omni_dequantize_q8_0(xq + (r * nb + b) * 34, dx, 32);
                for (int j = 0; j < 32; j++) { s += (double)dw[j] * dx[j]; sa += fabs((double)dw[j] * dx[j]); } }
            double e = fabs(s - ya[r * M->out + o]) / sa; if (e > maxerr) maxerr = e;
        }
        printf("shape %zu (%zu x %zu), path %s: bit-identical m 1-16, ragged, portable; max |err| / sum|w x| %.2e\n", i,
               M->out, M->in, omni_cpu_path(), maxerr);
    }
    for (size_t r = 0; r < maxM; r++) omni_quantize_q8_0(x + r * maxIn, xq + r * (maxIn / 32 * 34), maxIn);
    omni_q4_0_prepare_x(x, xp4, maxIn);   // timing only: every row of the standard Q4_0 product reads row 0's x
    static const size_t ms[] = {1, 2, 4, 8, 16};
    for (size_t k = 0; k < 5; k++) {
        size_t m = ms[k]; double best[2] = {1e30, 1e30};
        for (int rep = 0; rep < reps; rep++) for (int v = 0; v < 2; v++) {
            double t0 = cpu_now();
            for (size_t i = 0; i < nm; i++) { Mat *M = &mats[i];
                if (v == 0 && q4) for (size_t r = 0; r < m; r++) omni_matvec_q4_0(M->w, NULL, xp4, ya + r * M->out, M->in, 0, M->out);
                else if (v == 0) { if (m == 1) omni_matvec_q8_0(M->w, NULL, xq, ya, M->in, 0, M->out); else omni_matmul_small_q8_0(M->w, xq, ya, M->in, M->out, m, 0, M->out); }
                else if (m == 1) mv_r8(M->wx, xq, ya, M->in, 0, M->out);
                else mm_r8(M->wx, xq, ya, M->in, M->out, m, 0, M->out); }
            double t = cpu_now() - t0; if (t < best[v]) best[v] = t;
        }
        printf("m %2zu: standard %7.2f ms (%.1f GMAC/s)  rows8 %7.2f ms (%.1f GMAC/s)  %.2fx\n", m, best[0] * 1e3, macs * m / best[0] / 1e9,
               best[1] * 1e3, macs * m / best[1] / 1e9, best[0] / best[1]);
    }
    printf("%d layers, %.0f MB of %s, 1 thread, CPU time best of %d\n", layers, macs * bb() / 32 / 1e6, q4 ? "Q4_0" : "Q8_0", reps);
    return 0;
}
