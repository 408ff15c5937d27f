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

#if defined(__x86_64__)
void omni_bf16_prepare_avx512bf16(const float *x, float *xp, size_t in);
void omni_mv_bf16_avx512bf16(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t r0, size_t r1);
void omni_mv_q8_0_q8_vnni(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t r0, size_t r1);
#endif
#endif
