// C kernels that need intrinsics. Each public function picks its path at run time by CPU feature
// (AVX-512 / AVX2+F16C+FMA / portable C), so the package builds and runs on any x86-64 or ARM CPU.
#ifndef OMNI_CKERNELS_H
#define OMNI_CKERNELS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CPU feature bits reported by omni_cpu_features().
enum {
    OMNI_CPU_AVX2 = 1 << 0,      ///< AVX2 + FMA + F16C
    OMNI_CPU_AVX512 = 1 << 1,    ///< AVX-512 F/BW/VL
    OMNI_CPU_AVX512BF16 = 1 << 2,///< AVX512-BF16 (vdpbf16ps)
    OMNI_CPU_VNNI = 1 << 3,      ///< AVX512-VNNI (with VL: 256-bit vpdpbusd)
};

/// Features of this CPU, masked by the OMNI_CPU environment variable ("portable", "avx2", "avx512").
int omni_cpu_features(void);
/// Restricts the paths used from now on to `mask` & the detected features (tests and benchmarks compare paths).
void omni_cpu_override(int mask);
/// Name of the widest path in use ("avx512bf16", "avx512", "avx2", "portable").
const char *omni_cpu_path(void);

// ---- dtype conversion (IEEE-754, round to nearest even; NaN stays NaN) ----
void omni_bf16_to_f32(const uint16_t *src, float *dst, size_t n);
void omni_f32_to_bf16(const float *src, uint16_t *dst, size_t n);
void omni_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void omni_f32_to_f16(const float *src, uint16_t *dst, size_t n);

// ---- matrix-vector products y[o] = dot(x, W[o, :]) for rows [row0, row1) (decode path) ----
void omni_matvec_f32(const float *w, const float *x, float *y, size_t in, size_t row0, size_t row1);
void omni_matvec_bf16(const uint16_t *w, const float *x, float *y, size_t in, size_t row0, size_t row1);
/// The bf16 product with x prepared once per vector (omni_bf16_prepare_x, `in` floats, a layout private to
/// the dispatched kernel), so that the row blocks of one product running on several threads share it.
void omni_bf16_prepare_x(const float *x, float *xp, size_t in);
void omni_matvec_bf16_prepared(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t row0, size_t row1);
void omni_matvec_f16(const uint16_t *w, const float *x, float *y, size_t in, size_t row0, size_t row1);
/// Q8_0 rows (in/32 blocks of 34 bytes each). x is quantized to Q8_0 internally (as llama.cpp does) when
/// `xq` (in/32 * 34 bytes, from omni_quantize_q8_0) is non-null; otherwise x is used in f32.
void omni_matvec_q8_0(const uint8_t *w, const float *x, const uint8_t *xq, float *y, size_t in, size_t row0, size_t row1);
/// Q4_0 rows (in/32 blocks of 18 bytes each), against x prepared once per vector by omni_q4_0_prepare_x
/// (x quantized to Q8_0, as llama.cpp does, plus per-block terms the kernels use) when `xp` is non-null;
/// otherwise x is used in f32.
void omni_matvec_q4_0(const uint8_t *w, const float *x, const uint8_t *xp, float *y, size_t in, size_t row0, size_t row1);
/// Bytes of x prepared for omni_matvec_q4_0 (`in` a multiple of 32).
size_t omni_q4_0_prepared_bytes(size_t in);
/// Prepares x for omni_matvec_q4_0: its Q8_0 blocks (omni_quantize_q8_0's bytes) first, then per-block terms.
void omni_q4_0_prepare_x(const float *x, uint8_t *xp, size_t in);
// ---- bf16 compute GEMM (`--compute-dtype bf16`): y[m, n] (+)= Σ_k bf16(x[m, k]) · w[n, k] (gemm_bf16.c) ----
// x: rows × in f32 (row-major, rounded to bf16 to nearest even as it is packed), w: bf16 rows of `in` (a linear's
// [out, in] weight), columns [n0, n1) of y (row stride ldy; accumulate adds to y instead of overwriting it).
/// 1 when this CPU runs omni_gemm_bf16w (AMX-BF16, and Linux granting this process the tile state), else 0.
int omni_gemm_bf16w_available(void);
/// 4-byte words of scratch one call needs for `rows` rows of x and `cols` columns (the packed panels).
size_t omni_gemm_bf16w_scratch_words(size_t rows, size_t in, size_t cols);
/// The AMX GEMM; returns -1 and writes nothing where omni_gemm_bf16w_available() is 0.
int omni_gemm_bf16w(const float *x, size_t rows, size_t in, const uint16_t *w, size_t n0, size_t n1, float *y,
                    size_t ldy, int accumulate, void *scratch);
/// The GEMM's weight panels (exposed for its tests): rows [n0, n1) of w over pairs of k [p0, p0 + kp), panel j at
/// out + j·kpad·32, word (p, lane) = (w[n0 + 32j + lane, 2(p0 + p)], w[…, 2(p0 + p) + 1]) as low and high halves; zero
/// past n1, past kp (up to kpad) and past the row's end. 8 × 8 blocks go through AVX2 where the CPU has it.
void omni_gemm_bf16w_pack_w(const uint16_t *w, size_t in, size_t n0, size_t n1, size_t p0, size_t kp, size_t kpad,
                            uint32_t *out);
/// The same function in scalar C (k summed in order): the tests' reference on every CPU.
void omni_gemm_bf16w_reference(const float *x, size_t rows, size_t in, const uint16_t *w, size_t n0, size_t n1,
                               float *y, size_t ldy, int accumulate);
// ---- small-batch products y[r, o] = dot(x[r, :], W[o, :]) for m rows, rows [row0, row1) of W (batched decode) ----
// Each weight row is read once for all m rows; row r equals the matvec of x[r] bit for bit (matmul_small.c).
void omni_matmul_small_f32(const float *w, const float *x, float *y, size_t in, size_t out, size_t m, size_t row0, size_t row1);
/// x prepared row by row with omni_bf16_prepare_x (m × in floats in `xp`).
void omni_matmul_small_bf16_prepared(const uint16_t *w, const float *xp, const float *x, float *y, size_t in, size_t out,
                                     size_t m, size_t row0, size_t row1);
/// x quantized row by row with omni_quantize_q8_0 (m × in/32 × 34 bytes in `xq`).
void omni_matmul_small_q8_0(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                            size_t row0, size_t row1);
// ---- Q8_0 with rows interleaved by 8 (TensorLayout.q8_0Rows8; layout and arithmetic in matvec_q8r8.c) ----
/// Packs a standard Q8_0 matrix [rows, in] (rows % 8 == 0, in % 32 == 0) into the interleaved layout (same bytes
/// count; `dst` must not overlap `src`).
void omni_q8_0_r8_pack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows);
/// The inverse of omni_q8_0_r8_pack: the standard blocks again, byte for byte.
void omni_q8_0_r8_unpack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows);
/// Dequantizes rows [row0, row1) of an interleaved matrix to f32 rows (row-major, `in` values each), with the
/// values omni_dequantize_q8_0 gives for the standard layout.
void omni_q8_0_r8_dequantize_rows(const uint8_t *w, float *dst, size_t in, size_t row0, size_t row1);
/// y[o] for rows [row0, row1) of an interleaved W against x quantized with omni_quantize_q8_0 (`xq`).
void omni_matvec_q8_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t row0, size_t row1);
/// y[r, o] for m rows of x (m × in/32 × 34 bytes in `xq`); row r equals omni_matvec_q8_0_r8 of x[r] bit for bit.
void omni_matmul_small_q8_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                               size_t row0, size_t row1);
/// The f16 scales of `blocks` consecutive Q8_0 blocks (34 bytes each, as omni_quantize_q8_0 writes them) widened
/// to f32 (exact).
void omni_q8_0_widen_scales(const uint8_t *xq, float *sx, size_t blocks);
/// omni_matmul_small_q8_0_r8 with x's scales already widened (`sx`: omni_q8_0_widen_scales of all m × in/32
/// blocks of `xq`), so a call that cuts the rows into many tasks widens them once: the same bits.
void omni_matmul_small_q8_0_r8_widened(const uint8_t *w, const uint8_t *xq, const float *sx, float *y, size_t in,
                                       size_t out, size_t m, size_t row0, size_t row1);
/// The same four for Q4_0 (TensorLayout.q4_0Rows8: 144 bytes per 8 rows and block); x as for Q8_0 (the first
/// in/32 × 34 bytes of omni_q4_0_prepare_x's output are those blocks).
void omni_q4_0_r8_pack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows);
void omni_q4_0_r8_unpack(const uint8_t *src, uint8_t *dst, size_t in, size_t rows);
void omni_q4_0_r8_dequantize_rows(const uint8_t *w, float *dst, size_t in, size_t row0, size_t row1);
void omni_matvec_q4_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t row0, size_t row1);
void omni_matmul_small_q4_0_r8(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t out, size_t m,
                               size_t row0, size_t row1);
/// Dequantizes `n` values (whole blocks) to f32.
void omni_dequantize_q8_0(const uint8_t *src, float *dst, size_t n);
void omni_dequantize_q4_0(const uint8_t *src, float *dst, size_t n);
/// Quantizes `n` f32 values (whole blocks) with the ggml reference formula.
void omni_quantize_q8_0(const float *src, uint8_t *dst, size_t n);

// ---- llama.cpp's k-quants and Q5_0, as read from GGUF (kquants.c; layouts there) ----
/// Dequantizes `n` values (whole blocks: 256 for Q4_K/Q6_K, 32 for Q5_0) with ggml's reference formulas.
void omni_dequantize_q4_k(const uint8_t *src, float *dst, size_t n);
void omni_dequantize_q6_k(const uint8_t *src, float *dst, size_t n);
void omni_dequantize_q5_0(const uint8_t *src, float *dst, size_t n);
/// Bytes of x quantized to Q8_K (`in` a multiple of 256): 292 per 256 values (f32 d, 256 int8, 16 int16 sums).
size_t omni_q8_k_bytes(size_t in);
/// Quantizes x to Q8_K as llama.cpp's quantize_row_q8_K_ref does (once per product, for Q4_K and Q6_K rows).
void omni_quantize_q8_k(const float *x, uint8_t *dst, size_t n);
/// Q4_K / Q6_K rows (in/256 super-blocks each) against x quantized to Q8_K; rows [row0, row1).
void omni_matvec_q4_k(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t row0, size_t row1);
void omni_matvec_q6_k(const uint8_t *w, const uint8_t *xq, float *y, size_t in, size_t row0, size_t row1);
/// Bytes of x prepared for omni_matvec_q5_0 (`in` a multiple of 32).
size_t omni_q5_0_prepared_bytes(size_t in);
/// Prepares x for omni_matvec_q5_0: its Q8_0 blocks (omni_quantize_q8_0's bytes) first, then per-block terms.
void omni_q5_0_prepare_x(const float *x, uint8_t *xp, size_t in);
/// Q5_0 rows (in/32 blocks of 22 bytes) against x prepared by omni_q5_0_prepare_x; rows [row0, row1).
void omni_matvec_q5_0(const uint8_t *w, const uint8_t *xp, float *y, size_t in, size_t row0, size_t row1);

// ---- thread pool ----
/// A task of a parallel region: `index` in 0..<count.
typedef void (*omni_task_fn)(void *ctx, long index);
/// Runs fn(ctx, i) for i in 0..<n on the caller plus up to threads-1 pool workers (spin briefly, then sleep),
/// returning when all are done. Regions from different callers run one after another.
void omni_pool_run(long n, omni_task_fn fn, void *ctx, int threads);

// ---- vector helpers ----
/// x[i] = exp(x[i] - max) for i < n; returns the sum. (Cephes-style exp, ~1 ulp in the used range.)
float omni_exp_sub_sum(float *x, size_t n, float max);
/// Maximum of x[0..n).
float omni_max(const float *x, size_t n);
/// y[i] += a * x[i].
void omni_axpy(float *y, const float *x, float a, size_t n);
/// y[i] *= a.
void omni_scale(float *y, float a, size_t n);
/// dot(x, y).
float omni_dot(const float *x, const float *y, size_t n);
/// out[j] = scale · omni_dot(q, k + j·stride, n) for j < rows (one query row's scores over `rows` key rows): the same
/// values as those calls, in one call.
void omni_dot_rows(const float *q, const float *k, size_t stride, size_t rows, size_t n, float scale, float *out);
/// y[0 … n) += w[j] · v[j·stride …] for every j < rows with w[j] ≠ 0, in j order: the same values as omni_axpy row
/// after row, with the sums held in registers.
void omni_axpy_rows(float *y, const float *v, size_t stride, const float *w, size_t rows, size_t n);
/// RMSNorm of one row: y = x / sqrt(mean(x^2) + eps) * w (w may be f32 or bf16: pass one of them, the other NULL).
void omni_rmsnorm_row(const float *x, const float *w32, const uint16_t *w16, float *y, size_t n, float eps);
/// y = silu(g) * u.
void omni_swiglu(const float *g, const float *u, float *y, size_t n);

// ---- row kernels of the prefill and tower paths (prefill.c) ----
/// y = GELU(x): exact 0.5x(1 + erf(x/√2)) (erf within 1.5e-7, as ATen's vectorized erf) or, with `tanh_form`,
/// 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
void omni_gelu(const float *x, float *y, size_t n, int tanh_form);
/// LayerNorm of one row (biased variance, two passes): y = (x − mean) / sqrt(var + eps) · w + b; w, b may be NULL.
void omni_layernorm_row(const float *x, const float *w, const float *b, float *y, size_t n, float eps);
/// Copies `row` (cols floats) into `rows` rows of y with leading dimension `ld` (a GEMM's bias, before beta = 1).
void omni_fill_rows(float *y, size_t ld, const float *row, size_t rows, size_t cols);

// ---- BigVGAN (snake.c) ----
/// Anti-aliased SnakeBeta of x [channels, n] into y [channels, n] (y must not overlap x): upsample ×2 with the
/// 12-tap `filter` (replicate padding), a + sin²(a·e^α[c]) / (e^β[c] + 1e−9), downsample ×2 with the same filter,
/// one pass per 2048-sample tile, channels × tiles on the kernel pool (`threads`).
void omni_snake_beta(const float *x, const float *alpha, const float *beta, const float *filter, float *y,
                     size_t channels, size_t n, int threads);

#ifdef __cplusplus
}
#endif
#include "resample.h"
#endif
