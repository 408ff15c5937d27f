// Declarations shared by matvec.c (dispatch) and the per-ISA kernel files. Not public API.
#ifndef OMNI_MATVEC_INTERNAL_H
#define OMNI_MATVEC_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

// Bytes ahead of the current load that each row loop prefetches. One row at a time keeps every thread's
// weight reads a single sequential stream (rows are contiguous); interleaving four rows measured 17-19 GB/s
// on 2 Zen 3 cores against 24-26 GB/s for one stream (Benchmarks/matvec_streams.c). Prefetches never fault,
// so running past the matrix end is harmless.
#ifndef MV_PREFETCH
#define MV_PREFETCH 1024
#endif

// The block-quantized × Q8_0 row loop of the AVX2 and VNNI kernels, in a function with parameters (w, xq, y,
// in, r0, r1): one row at a time, two blocks per step into two accumulators, prefetching ahead. WBYTES is the
// weight block size (34 for Q8_0, 18 for Q4_0); BLOCK(acc, wb, xb) returns acc + d_w·d_x·(q_w · q_x) for one
// weight block of the row and the matching 34-byte Q8_0 block of x, as __m256.
#define OMNI_QROWS(BLOCK, WBYTES) do { \
        size_t nb_ = in / 32; \
        for (size_t o = r0; o < r1; o++) { \
            const uint8_t *row = w + o * nb_ * (WBYTES); \
            __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0; \
            size_t b = 0; \
            for (; b + 2 <= nb_; b += 2) { \
                _mm_prefetch((const char *)(row + b * (WBYTES)) + MV_PREFETCH, _MM_HINT_T0); \
                acc0 = BLOCK(acc0, row + b * (WBYTES), xq + b * 34); \
                acc1 = BLOCK(acc1, row + b * (WBYTES) + (WBYTES), xq + b * 34 + 34); \
            } \
            if (b < nb_) acc0 = BLOCK(acc0, row + b * (WBYTES), xq + b * 34); \
            y[o] = omni_hsum8(_mm256_add_ps(acc0, acc1)); \
        } \
    } while (0)
#define OMNI_Q8_ROWS(BLOCK) OMNI_QROWS(BLOCK, 34)

#if defined(__x86_64__)
void omni_bf16_prepare_avx512bf16(const float *x, float *xp, size_t in);
void omni_mv_bf16_avx512bf16(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t r0, size_t r1);
void omni_mv_q8_0_q8_vnni(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1);
#endif
#endif
