// y[m, n] (+)= Σ_k bf16(x[m, k]) · w[n, k]: the GEMM of a linear with bf16 weights in bf16 compute, the CPU side of
// `--compute-dtype bf16` (x rounded to bf16 to nearest even, products and sums in f32, as a bf16 matmul in PyTorch or
// llama.cpp computes). It runs on AMX (Intel Sapphire Rapids and later): one TDPBF16PS multiplies a 16 × 32 bf16 tile
// of x by a 32 × 16 tile of W into 16 × 16 f32 sums, 8192 products where an AVX-512 FMA does 16. f32 stays the parity
// default. (A first version on AVX512-BF16's vdpbf16ps, a 12 × 32 register tile, ran at 0.5–0.8× OpenBLAS's SGEMM on
// 1 and 2 threads of the one AVX512-BF16 CPU measured, the same Sapphire Rapids: not kept.)
//
// Blocking (one call computes the column block [n0, n1) for every row of x, one task of the caller's pool):
//   for each block of GB_KP pairs of k (a pair = the two bf16 that multiply into one f32 sum):
//     pack W's rows n0..n1 into panels of 32 columns: panel[p][lane] = (w[n, 2p], w[n, 2p+1]) as one 32-bit word
//       (the row of a B tile: 16 pairs × 16 columns of a panel half is one 1 KiB tile, row stride 128 bytes)
//     for each block of GB_MC rows of x: pack them as bf16 pairs, row-major (an A tile: 16 rows × 16 pairs)
//       for each panel (L1): for each 32 rows (L2): a 32 × 32 block of y in four C tiles, two A and two B tile
//       loads and four TDPBF16PS per 16 pairs; the sums go through a 32 × 32 f32 buffer into y (masked, added).
// Pairs pad to a multiple of 16 and rows to 32, with zeros on both sides; odd `in`: the last pair's second half is
// zero. Only the valid rows and columns of y are written.
#include "CKernels.h"
#include "half.h"
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define GB_NR 32       // columns of a panel (two B tiles)
#define GB_MT 32       // rows of a block of y (two A tiles)
// Measured on Sapphire Rapids (Benchmarks/gemm_bf16_peak.c, eight blockings, ten shapes, 1 and 2 threads, stop 26):
// 384 pairs ran 1.0–3.3× (median ≈ 2×) the first version's 192 in the same call, 64–256 between; 128 or 384 rows alike.
#ifndef GB_KP
#define GB_KP 384      // pairs of k per block (a multiple of 16): a panel is 384 × 32 words = 48 KiB
#endif
#ifndef GB_MC
#define GB_MC 384      // rows of x per packed block (a multiple of GB_MT): 384 × 384 words = 576 KiB
#endif

static size_t gb_pairs(size_t in) { return (in + 1) / 2; }
static size_t gb_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

size_t omni_gemm_bf16w_scratch_words(size_t rows, size_t in, size_t cols) {
    size_t kp = gb_up(gb_pairs(in) < GB_KP ? gb_pairs(in) : GB_KP, 16);
    size_t mc = rows < GB_MC ? rows : GB_MC;
    // panels, the packed rows of x, the 32 × 32 f32 block of sums, the tile configuration (16 words), 64-byte alignment
    return gb_up(cols, GB_NR) * kp + gb_up(mc, GB_MT) * kp + GB_MT * GB_NR + 16 + 16;
}

// The 32-bit word of pair p of a weight row (second half zero past the row's end).
static inline uint32_t gb_wword(const uint16_t *row, size_t in, size_t p) {
    uint32_t lo = row[2 * p];
    return 2 * p + 1 < in ? lo | (uint32_t)row[2 * p + 1] << 16 : lo;
}

#if defined(__x86_64__)
static size_t gb_pack8_avx2(const uint16_t *rows, size_t in, size_t p0, size_t kp, uint32_t *dst);
#endif

// Panels of W's rows [n0, n1) over pairs [p0, p0 + kp) with kpad ≥ kp words a lane: panel j at b + j * kpad * 32;
// columns past n1 and pairs past kp are zero. Whole 8 × 8 blocks of words (8 rows, 8 pairs) go through an AVX2 transpose
// (gb_pack8_avx2, which returns how many pairs of a full group of 8 rows it did); the scalar loop does the rest.
void omni_gemm_bf16w_pack_w(const uint16_t *w, size_t in, size_t n0, size_t n1, size_t p0, size_t kp, size_t kpad, uint32_t *b) {
    size_t panels = (n1 - n0 + GB_NR - 1) / GB_NR;
    for (size_t j = 0; j < panels; j++) {
        uint32_t *pb = b + j * kpad * GB_NR;
        for (size_t lane = 0; lane < GB_NR; lane += 8) {
            size_t n = n0 + j * GB_NR + lane, done = 0;
#if defined(__x86_64__)
            if (n + 8 <= n1 && (omni_cpu_features() & OMNI_CPU_AVX2)) done = gb_pack8_avx2(w + n * in, in, p0, kp, pb + lane);
#endif
            for (size_t l = lane; l < lane + 8; l++) {
                size_t nl = n0 + j * GB_NR + l;
                const uint16_t *row = w + nl * in;
                for (size_t p = done; p < kpad; p++) pb[p * GB_NR + l] = nl < n1 && p < kp ? gb_wword(row, in, p0 + p) : 0;
            }
        }
    }
}

// ---------------------------------------------------------------- portable reference
// The same function in scalar C: x rounded to bf16 (nearest even), products and sums in f32, k in order. The AMX
// path sums in another order (pairs, tiles, blocks of k), so the two agree to f32 rounding, not bit for bit.
void omni_gemm_bf16w_reference(const float *x, size_t rows, size_t in, const uint16_t *w, size_t n0, size_t n1,
                               float *y, size_t ldy, int accumulate) {
    for (size_t m = 0; m < rows; m++) {
        const float *xr = x + m * in;
        for (size_t n = n0; n < n1; n++) {
            const uint16_t *wr = w + n * in;
            float s = 0;
            for (size_t k = 0; k < in; k++) s += bf16_to_f32_1(f32_to_bf16_1(xr[k])) * bf16_to_f32_1(wr[k]);
            y[m * ldy + n] = accumulate ? y[m * ldy + n] + s : s;
        }
    }
}

#if defined(__x86_64__)
#define TAMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

// 8 rows of W from `rows` (row stride `in`) over the pairs [p0, p0 + kp): whole groups of 8 pairs (all inside the rows:
// 2·(p0 + p + 8) ≤ in) transposed with AVX2 into dst[p · 32 + lane] (lane 0 … 7). Returns the pairs done.
__attribute__((target("avx2"))) static size_t gb_pack8_avx2(const uint16_t *rows, size_t in, size_t p0, size_t kp, uint32_t *dst) {
    size_t p = 0;
    for (; p + 8 <= kp && 2 * (p0 + p + 8) <= in; p += 8) {
        __m256i r[8];
        for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_si256((const __m256i *)(rows + i * in + 2 * (p0 + p)));
        __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
        __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
        // u0: words 0 of rows 0–3 | words 4 of rows 0–3 (low | high 128 bits), u4 the same for rows 4–7; u1 words 1 | 5 …
        __m256i o[8] = {
            _mm256_permute2x128_si256(u0, u4, 0x20), _mm256_permute2x128_si256(u1, u5, 0x20),
            _mm256_permute2x128_si256(u2, u6, 0x20), _mm256_permute2x128_si256(u3, u7, 0x20),
            _mm256_permute2x128_si256(u0, u4, 0x31), _mm256_permute2x128_si256(u1, u5, 0x31),
            _mm256_permute2x128_si256(u2, u6, 0x31), _mm256_permute2x128_si256(u3, u7, 0x31),
        };
        for (int q = 0; q < 8; q++) _mm256_storeu_si256((__m256i *)(dst + (p + q) * GB_NR), o[q]);
    }
    return p;
}

// AMX needs the CPU's two feature bits, the OS's tile state in XCR0 (bits 17 and 18), and Linux's permission for
// this process (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, granted to every thread of the process).
static int gb_amx_detect(void) {
    if (!(omni_cpu_features() & OMNI_CPU_AVX512BF16)) return 0;   // honours OMNI_CPU=avx512 / avx2 / portable
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return 0;           // AMX-BF16, AMX-TILE
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;   // OSXSAVE, for xgetbv
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;
#ifdef SYS_arch_prctl
    if (syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) != 0) return 0;
    return 1;
#else
    return 0;
#endif
}

static int gb_amx_state = -1;
static int gb_amx(void) {
    int v = __atomic_load_n(&gb_amx_state, __ATOMIC_ACQUIRE);
    if (v < 0) { v = gb_amx_detect(); __atomic_store_n(&gb_amx_state, v, __ATOMIC_RELEASE); }
    return v && (omni_cpu_features() & OMNI_CPU_AVX512BF16);       // omni_cpu_override can narrow it later
}

// Rows [m0, m0 + mc) of x over pairs [p0, p0 + kp) as bf16 words, row-major with stride kpad ≥ kp; pairs past kp and
// rows up to the next multiple of GB_MT are zero.
TAMX static void gb_pack_x(const float *x, size_t in, size_t m0, size_t mc, size_t p0, size_t kp, size_t kpad, uint32_t *a) {
    size_t k0 = 2 * p0, kn = k0 + 2 * kp < in ? 2 * kp : in - k0;   // floats of this block in a row
    for (size_t r = 0; r < mc; r++) {
        const float *src = x + (m0 + r) * in + k0;
        uint32_t *dst = a + r * kpad;
        size_t k = 0;
        for (; k + 32 <= kn; k += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16), _mm512_loadu_ps(src + k));
            _mm512_storeu_si512((void *)(dst + k / 2), (__m512i)v);
        }
        if (k < kn) {
            size_t left = kn - k;   // 1 … 31 floats
            __mmask16 lo = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
            __mmask16 hi = (__mmask16)(left > 16 ? (1u << (left - 16)) - 1 : 0);
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + k + 16), _mm512_maskz_loadu_ps(lo, src + k));
            _mm512_mask_storeu_epi32(dst + k / 2, (__mmask16)((1u << ((left + 1) / 2)) - 1), (__m512i)v);
        }
        for (size_t p = (kn + 1) / 2; p < kpad; p++) dst[p] = 0;
    }
    size_t padded = gb_up(mc, GB_MT);
    if (padded > mc) memset(a + mc * kpad, 0, (padded - mc) * kpad * 4);
}

typedef struct { uint8_t palette, start_row, reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } GbTileConfig;

// c[32 × 32] = a[32 rows, kpad pairs] · b[kpad pairs, 32 columns]: C tiles 0–3, A tiles 4–5, B tiles 6–7.
TAMX static void gb_block(const uint32_t *a, size_t kpad, const uint32_t *b, float *c) {
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    for (size_t p = 0; p < kpad; p += 16) {
        _tile_loadd(4, a + p, kpad * 4);
        _tile_loadd(5, a + 16 * kpad + p, kpad * 4);
        _tile_loadd(6, b + p * GB_NR, GB_NR * 4);
        _tile_loadd(7, b + p * GB_NR + 16, GB_NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c, GB_NR * 4);
    _tile_stored(1, c + 16, GB_NR * 4);
    _tile_stored(2, c + 16 * GB_NR, GB_NR * 4);
    _tile_stored(3, c + 16 * GB_NR + 16, GB_NR * 4);
}

TAMX static void gb_amx_gemm(const float *x, size_t rows, size_t in, const uint16_t *w, size_t n0, size_t n1,
                             float *y, size_t ldy, int accumulate, void *scratch) {
    uint32_t *base = (uint32_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    size_t pairs = gb_pairs(in), cols = n1 - n0, panels = (cols + GB_NR - 1) / GB_NR;
    size_t kpmax = gb_up(pairs < GB_KP ? pairs : GB_KP, 16);
    GbTileConfig *cfg = (GbTileConfig *)base;
    float *c = (float *)(base + 16);
    uint32_t *b = base + 16 + GB_MT * GB_NR, *a = b + panels * GB_NR * kpmax;   // a: up to gb_up(GB_MC, GB_MT) × kpmax
    memset(cfg, 0, sizeof *cfg);
    cfg->palette = 1;
    for (int t = 0; t < 8; t++) { cfg->colsb[t] = 64; cfg->rows[t] = 16; }
    _tile_loadconfig(cfg);
    for (size_t p0 = 0; p0 < pairs; p0 += GB_KP) {
        size_t kp = pairs - p0 < GB_KP ? pairs - p0 : GB_KP, kpad = gb_up(kp, 16);
        omni_gemm_bf16w_pack_w(w, in, n0, n1, p0, kp, kpad, b);
        int load = accumulate || p0 > 0;
        for (size_t m0 = 0; m0 < rows; m0 += GB_MC) {
            size_t mc = rows - m0 < GB_MC ? rows - m0 : GB_MC;
            gb_pack_x(x, in, m0, mc, p0, kp, kpad, a);
            for (size_t j = 0; j < panels; j++) {
                size_t c0 = j * GB_NR, left = cols - c0;
                __mmask16 k0 = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
                __mmask16 k1 = (__mmask16)(left >= 32 ? 0xffff : left > 16 ? (1u << (left - 16)) - 1 : 0);
                const uint32_t *pb = b + j * kpad * GB_NR;
                for (size_t r = 0; r < mc; r += GB_MT) {
                    gb_block(a + r * kpad, kpad, pb, c);
                    size_t mr = mc - r < GB_MT ? mc - r : GB_MT;
                    for (size_t i = 0; i < mr; i++) {
                        float *yr = y + (m0 + r + i) * ldy + n0 + c0;
                        __m512 s0 = _mm512_loadu_ps(c + i * GB_NR), s1 = _mm512_loadu_ps(c + i * GB_NR + 16);
                        if (load) {
                            s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(k0, yr));
                            s1 = _mm512_add_ps(s1, _mm512_maskz_loadu_ps(k1, yr + 16));
                        }
                        _mm512_mask_storeu_ps(yr, k0, s0);
                        _mm512_mask_storeu_ps(yr + 16, k1, s1);
                    }
                }
            }
        }
    }
    _tile_release();
}
#endif

int omni_gemm_bf16w_available(void) {
#if defined(__x86_64__)
    return gb_amx();
#else
    return 0;
#endif
}

int omni_gemm_bf16w(const float *x, size_t rows, size_t in, const uint16_t *w, size_t n0, size_t n1, float *y,
                    size_t ldy, int accumulate, void *scratch) {
#if defined(__x86_64__)
    if (gb_amx()) {
        if (rows && n1 > n0 && in) gb_amx_gemm(x, rows, in, w, n0, n1, y, ldy, accumulate, scratch);
        return 0;
    }
#endif
    (void)x; (void)rows; (void)in; (void)w; (void)n0; (void)n1; (void)y; (void)ldy; (void)accumulate; (void)scratch;
    return -1;
}
