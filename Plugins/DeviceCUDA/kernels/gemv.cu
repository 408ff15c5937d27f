// gemv.cu: decode-time linear layers, y = x · Wᵀ (+ bias) for 1 … 8 activation rows, bound by reading W.
//
// No #include (NVRTC, sm_80 and newer). Weights are streamed with 16-byte non-caching loads; each warp
// computes NR = 4 output features at once so one activation load serves four weight rows; a row group can be
// split over 1, 2, 4 or 8 warps of the block (wpr) so that small N still fills the GPU. f32 accumulation.
//
// Layout: x [M, ldx] f32; y [M, ldy] f32; bias [N] f32 or null.
//   bf16 weights: W [N, K] bf16 bits, row-major (torch's Linear weight), K % 8 == 0, 16-byte aligned rows.
//   Q8_0 weights, repacked at upload: qs [N, K] int8 row-major, d [N, K / 32] f16 bits, one scale per 32
//   consecutive weights of a row (value = d · q); K % 32 == 0.
//
// Entry points, one per row capacity C ∈ {1, 2, 4, 8} (registers grow with C, so M = 1 keeps full occupancy);
// grid ceil(N / 4 / (8 / wpr)); block 256; wpr ∈ {1, 2, 4, 8}; 1 ≤ M ≤ C:
//   omni_gemv_bf16_mC(const float* x, int ldx, const unsigned short* W, const float* bias, float* y, int ldy,
//                int M, int N, int K, int wpr)
//   omni_gemv_q8_0_mC(const float* x, int ldx, const signed char* qs, const unsigned short* d, const float* bias,
//                float* y, int ldy, int M, int N, int K, int wpr)
//   omni_gemv_swiglu_bf16_mC(const float* x, int ldx, const unsigned short* Wg, const unsigned short* Wu,
//                const float* bg, const float* bu, float* y, int ldy, int M, int N, int K, int wpr)
//       y = silu(x · Wgᵀ + bg) ⊙ (x · Wuᵀ + bu), [M, N]; grid ceil(N / 2 / (8 / wpr)) (two features a group).
//   omni_q8_0_repack(const unsigned char* blocks, long long nBlocks, signed char* qs, unsigned short* d)
//       GGUF block_q8_0 (f16 d, int8 q[32]; 34 bytes) in row-major block order → the layout above.
//       Grid-stride, one thread a block.

#define GV_NR 4
#define GV_WARPS 8

static __device__ __forceinline__ uint4 gv_ld_stream(const void* p) {
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
                 : "l"(p));
    return r;
}
static __device__ __forceinline__ float4 gv_ld_x(const float* p) {
    float4 r;
    // Not .nc: under a dependent launch this kernel is alive while the kernel before it writes x, and the
    // non-coherent path is only for data that no one writes during the kernel (it read stale rows on the H200).
    // volatile: kept after omni_pdl_wait().
    asm volatile("ld.global.v4.f32 {%0,%1,%2,%3}, [%4];" : "=f"(r.x), "=f"(r.y), "=f"(r.z), "=f"(r.w) : "l"(p));
    return r;
}
static __device__ __forceinline__ float gv_lo(unsigned w) { return __uint_as_float(w << 16); }
static __device__ __forceinline__ float gv_hi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }
static __device__ __forceinline__ float gv_dot8(uint4 w, float4 a, float4 b) {
    float s = gv_lo(w.x) * a.x;
    s = fmaf(gv_hi(w.x), a.y, s);
    s = fmaf(gv_lo(w.y), a.z, s);
    s = fmaf(gv_hi(w.y), a.w, s);
    s = fmaf(gv_lo(w.z), b.x, s);
    s = fmaf(gv_hi(w.z), b.y, s);
    s = fmaf(gv_lo(w.w), b.z, s);
    s = fmaf(gv_hi(w.w), b.w, s);
    return s;
}

// Reduces acc over the warp and over the wpr warps of a row group; true in the warp that holds the sums (part 0).
template <int M>
static __device__ __forceinline__ bool gv_reduce(float (&acc)[M][GV_NR], int part, int wpr) {
    __shared__ float red[GV_WARPS][M * GV_NR];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) {
            float s = acc[m][r];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffff, s, o);
            acc[m][r] = s;
        }
    if (wpr > 1) {
        if (lane == 0) {
#pragma unroll
            for (int m = 0; m < M; ++m)
#pragma unroll
                for (int r = 0; r < GV_NR; ++r) red[warp][m * GV_NR + r] = acc[m][r];
        }
        __syncthreads();
        if (part != 0) return false;
#pragma unroll
        for (int m = 0; m < M; ++m)
#pragma unroll
            for (int r = 0; r < GV_NR; ++r) {
                float s = 0.f;
                for (int w = 0; w < wpr; ++w) s += red[warp + w][m * GV_NR + r];
                acc[m][r] = s;
            }
    }
    return true;
}

// Reduces acc (gv_reduce), then writes y (+ bias).
template <int M>
static __device__ __forceinline__ void gv_finish(float (&acc)[M][GV_NR], int rows, int n0, int N, int part, int wpr,
                                                 const float* bias, float* y, int ldy) {
    const int lane = threadIdx.x & 31;
    if (!gv_reduce<M>(acc, part, wpr)) return;
    if (lane < M * GV_NR) {
        // Each of the first M*NR lanes writes one value (constant-index selection keeps acc in registers).
        float val = 0.f;
#pragma unroll
        for (int m = 0; m < M; ++m)
#pragma unroll
            for (int r = 0; r < GV_NR; ++r)
                if (lane == m * GV_NR + r) val = acc[m][r];
        const int m = lane / GV_NR, n = n0 + lane % GV_NR;
        if (n < N && m < rows) y[(long long)m * ldy + n] = val + (bias ? bias[n] : 0.f);
    }
}

// The bf16 dot products of one warp's GV_NR weight rows (wr) with the M rows of x, over this warp's share of K.
template <int M>
static __device__ __forceinline__ void gv_bf16_accumulate(const uint4* (&wr)[GV_NR], const float* x, int ldx,
                                                          int rows, int K, int part, int wpr, float (&acc)[M][GV_NR]) {
    const int lane = threadIdx.x & 31;
    const int K8 = K >> 3;
    const int stride = 32 * wpr;
    int c = part * 32 + lane;
    bool waiting = true;  // the first weights are loaded before omni_pdl_wait()
    for (; c + stride < K8; c += 2 * stride) {
        uint4 a[GV_NR], b[GV_NR];
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) a[r] = gv_ld_stream(wr[r] + c);
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) b[r] = gv_ld_stream(wr[r] + c + stride);
        if (waiting) { omni_pdl_wait(); waiting = false; }
#pragma unroll
        for (int m = 0; m < M; ++m) {
            const float* xm = x + (long long)(m < rows ? m : 0) * ldx;
            float4 x0 = gv_ld_x(xm + c * 8), x1 = gv_ld_x(xm + c * 8 + 4);
            float4 x2 = gv_ld_x(xm + (c + stride) * 8), x3 = gv_ld_x(xm + (c + stride) * 8 + 4);
#pragma unroll
            for (int r = 0; r < GV_NR; ++r) acc[m][r] += gv_dot8(a[r], x0, x1) + gv_dot8(b[r], x2, x3);
        }
    }
    if (c < K8) {
        uint4 a[GV_NR];
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) a[r] = gv_ld_stream(wr[r] + c);
        if (waiting) { omni_pdl_wait(); waiting = false; }
#pragma unroll
        for (int m = 0; m < M; ++m) {
            const float* xm = x + (long long)(m < rows ? m : 0) * ldx;
            float4 x0 = gv_ld_x(xm + c * 8), x1 = gv_ld_x(xm + c * 8 + 4);
#pragma unroll
            for (int r = 0; r < GV_NR; ++r) acc[m][r] += gv_dot8(a[r], x0, x1);
        }
    }
    if (waiting) omni_pdl_wait();
}

template <int M>
static __device__ __forceinline__ void gemv_bf16_t(int blk, const float* x, int ldx,
                                                   const unsigned short* __restrict__ W,
                                                   const float* __restrict__ bias, float* __restrict__ y, int ldy,
                                                   int rows, int N, int K, int wpr) {
    const int warp = threadIdx.x >> 5;
    const int groups = GV_WARPS / wpr;
    const int grp = blk * groups + warp / wpr, part = warp % wpr;
    const int n0 = grp * GV_NR;
    const uint4* wr[GV_NR];
#pragma unroll
    for (int r = 0; r < GV_NR; ++r) wr[r] = (const uint4*)(W + (long long)min(n0 + r, N - 1) * K);
    float acc[M][GV_NR];
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) acc[m][r] = 0.f;
    omni_pdl_trigger();
    if (n0 < N) gv_bf16_accumulate<M>(wr, x, ldx, rows, K, part, wpr, acc);
    else omni_pdl_wait();
    gv_finish<M>(acc, rows, n0, N, part, wpr, bias, y, ldy);
}

// Gate and up (bf16 [N, K] each) and SwiGLU in one pass: a warp group's four weight rows are gate rows n0, n0 + 1
// and up rows n0, n0 + 1 (n0 = 2 · group), each dot product computed as gemv_bf16_t computes it for the same wpr,
// then y[m, n] = silu(g + bg[n]) · (u + bu[n]) as omni_swiglu_f32 computes it: bit-identical to the three launches.
template <int M>
static __device__ __forceinline__ void gemv_swiglu_bf16_t(int blk, const float* x, int ldx,
                                                          const unsigned short* __restrict__ Wg,
                                                          const unsigned short* __restrict__ Wu,
                                                          const float* __restrict__ bg, const float* __restrict__ bu,
                                                          float* __restrict__ y, int ldy, int rows, int N, int K,
                                                          int wpr) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int groups = GV_WARPS / wpr;
    const int grp = blk * groups + warp / wpr, part = warp % wpr;
    const int n0 = grp * 2;
    const uint4* wr[GV_NR];
    wr[0] = (const uint4*)(Wg + (long long)min(n0, N - 1) * K);
    wr[1] = (const uint4*)(Wg + (long long)min(n0 + 1, N - 1) * K);
    wr[2] = (const uint4*)(Wu + (long long)min(n0, N - 1) * K);
    wr[3] = (const uint4*)(Wu + (long long)min(n0 + 1, N - 1) * K);
    float acc[M][GV_NR];
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) acc[m][r] = 0.f;
    omni_pdl_trigger();
    if (n0 < N) gv_bf16_accumulate<M>(wr, x, ldx, rows, K, part, wpr, acc);
    else omni_pdl_wait();
    if (!gv_reduce<M>(acc, part, wpr)) return;
    if (lane < M * 2) {
        float g = 0.f, u = 0.f;
#pragma unroll
        for (int m = 0; m < M; ++m)
#pragma unroll
            for (int j = 0; j < 2; ++j)
                if (lane == m * 2 + j) { g = acc[m][j]; u = acc[m][2 + j]; }
        const int m = lane / 2, n = n0 + lane % 2;
        if (n < N && m < rows) {
            const float v = g + (bg ? bg[n] : 0.f), w = u + (bu ? bu[n] : 0.f);
            y[(long long)m * ldy + n] = v / (1.f + expf(-v)) * w;
        }
    }
}

// 4 int8 (one word) → 4 floats, exactly: bias the bytes to unsigned, place each under the exponent of 2^23,
// subtract 2^23 + 128. Integer permutes and one add each, instead of the quarter-rate int→float convert.
static __device__ __forceinline__ unsigned gv_prmt(unsigned a, unsigned b, unsigned s) {
    unsigned r;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(s));
    return r;
}
static __device__ __forceinline__ float gv_dot4q(unsigned w, float4 a, float s) {
    const unsigned u = w ^ 0x80808080u;
    const float B = 8388736.f;  // 2^23 + 128
    s = fmaf(__uint_as_float(gv_prmt(u, 0x4B000000u, 0x7540u)) - B, a.x, s);
    s = fmaf(__uint_as_float(gv_prmt(u, 0x4B000000u, 0x7541u)) - B, a.y, s);
    s = fmaf(__uint_as_float(gv_prmt(u, 0x4B000000u, 0x7542u)) - B, a.z, s);
    s = fmaf(__uint_as_float(gv_prmt(u, 0x4B000000u, 0x7543u)) - B, a.w, s);
    return s;
}
static __device__ __forceinline__ float gv_f16(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

template <int M>
static __device__ __forceinline__ void gemv_q8_t(int blk, const float* x, int ldx, const signed char* __restrict__ qs,
                                                 const unsigned short* __restrict__ d, const float* __restrict__ bias,
                                                 float* __restrict__ y, int ldy, int rows, int N, int K, int wpr) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int groups = GV_WARPS / wpr;
    const int grp = blk * groups + warp / wpr, part = warp % wpr;
    const int n0 = grp * GV_NR;
    const int K16 = K >> 4, K32 = K >> 5;
    const uint4* wr[GV_NR];
    const unsigned short* dr[GV_NR];
#pragma unroll
    for (int r = 0; r < GV_NR; ++r) {
        long long n = min(n0 + r, N - 1);
        wr[r] = (const uint4*)(qs + n * K);
        dr[r] = d + n * K32;
    }
    float acc[M][GV_NR];
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) acc[m][r] = 0.f;
    const int stride = 32 * wpr;
    bool waiting = true;  // the first weights are loaded before omni_pdl_wait()
    omni_pdl_trigger();
    if (n0 < N) {
        for (int c = part * 32 + lane; c < K16; c += 2 * stride) {
            const bool two = c + stride < K16;
            uint4 a[GV_NR], b[GV_NR];
            float da[GV_NR], db[GV_NR];
#pragma unroll
            for (int r = 0; r < GV_NR; ++r) {
                a[r] = gv_ld_stream(wr[r] + c);
                da[r] = gv_f16(dr[r][c >> 1]);
            }
            if (two) {
#pragma unroll
                for (int r = 0; r < GV_NR; ++r) {
                    b[r] = gv_ld_stream(wr[r] + c + stride);
                    db[r] = gv_f16(dr[r][(c + stride) >> 1]);
                }
            }
            if (waiting) { omni_pdl_wait(); waiting = false; }
#pragma unroll
            for (int m = 0; m < M; ++m) {
                const float* xm = x + (long long)(m < rows ? m : 0) * ldx + c * 16;
                float4 x0 = gv_ld_x(xm), x1 = gv_ld_x(xm + 4), x2 = gv_ld_x(xm + 8), x3 = gv_ld_x(xm + 12);
#pragma unroll
                for (int r = 0; r < GV_NR; ++r) {
                    float s = gv_dot4q(a[r].x, x0, 0.f);
                    s = gv_dot4q(a[r].y, x1, s);
                    s = gv_dot4q(a[r].z, x2, s);
                    s = gv_dot4q(a[r].w, x3, s);
                    acc[m][r] = fmaf(da[r], s, acc[m][r]);
                }
                if (two) {
                    const float* xn = xm + stride * 16;
                    float4 y0 = gv_ld_x(xn), y1 = gv_ld_x(xn + 4), y2 = gv_ld_x(xn + 8), y3 = gv_ld_x(xn + 12);
#pragma unroll
                    for (int r = 0; r < GV_NR; ++r) {
                        float s = gv_dot4q(b[r].x, y0, 0.f);
                        s = gv_dot4q(b[r].y, y1, s);
                        s = gv_dot4q(b[r].z, y2, s);
                        s = gv_dot4q(b[r].w, y3, s);
                        acc[m][r] = fmaf(db[r], s, acc[m][r]);
                    }
                }
            }
        }
    }
    if (waiting) omni_pdl_wait();
    gv_finish<M>(acc, rows, n0, N, part, wpr, bias, y, ldy);
}

#define GV_ENTRY(MM, QMIN)                                                                                   \
    extern "C" __global__ void __launch_bounds__(256) omni_gemv_bf16_m##MM(                                        \
        const float* x, int ldx, const unsigned short* W, const float* bias, float* y, int ldy, int M, int N,  \
        int K, int wpr) {                                                                                    \
        gemv_bf16_t<MM>(blockIdx.x, x, ldx, W, bias, y, ldy, M, N, K, wpr);                                             \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(256, QMIN) omni_gemv_q8_0_m##MM(                                        \
        const float* x, int ldx, const signed char* qs, const unsigned short* d, const float* bias, float* y, \
        int ldy, int M, int N, int K, int wpr) {                                                             \
        gemv_q8_t<MM>(blockIdx.x, x, ldx, qs, d, bias, y, ldy, M, N, K, wpr);                                           \
    }
// Q8_0 with one row asks for 3 blocks a multiprocessor (≤ 85 registers, a few bytes spilled): measured on the
// H200, 55% of the copy bandwidth over a whole token against 48% when the compiler was free to take more.
GV_ENTRY(1, 3)
GV_ENTRY(2, 1)
GV_ENTRY(4, 1)
GV_ENTRY(8, 1)

// Gate, up and SwiGLU (gemv_swiglu_bf16_t): grid ceil(N / 2 / (8 / wpr)), block 256, 1 ≤ M ≤ C.
#define GV_SWIGLU_ENTRY(MM)                                                                                      \
    extern "C" __global__ void __launch_bounds__(256) omni_gemv_swiglu_bf16_m##MM(                                \
        const float* x, int ldx, const unsigned short* Wg, const unsigned short* Wu, const float* bg,           \
        const float* bu, float* y, int ldy, int M, int N, int K, int wpr) {                                      \
        gemv_swiglu_bf16_t<MM>(blockIdx.x, x, ldx, Wg, Wu, bg, bu, y, ldy, M, N, K, wpr);                         \
    }
GV_SWIGLU_ENTRY(1)
GV_SWIGLU_ENTRY(2)
GV_SWIGLU_ENTRY(4)
GV_SWIGLU_ENTRY(8)

extern "C" __global__ void omni_q8_0_repack(const unsigned char* __restrict__ blocks, long long nBlocks,
                                       signed char* __restrict__ qs, unsigned short* __restrict__ d) {
    for (long long b = blockIdx.x * (long long)blockDim.x + threadIdx.x; b < nBlocks;
         b += (long long)gridDim.x * blockDim.x) {
        const unsigned char* src = blocks + b * 34;
        d[b] = (unsigned short)(src[0] | (src[1] << 8));
        signed char* dst = qs + b * 32;
#pragma unroll
        for (int i = 0; i < 32; ++i) dst[i] = (signed char)src[2 + i];
    }
}

// Q8_0 by dp4a (off by default: OMNI_CUDA_Q8_DP4A=1): the activations quantized per 32 as llama.cpp's q8_1 does
// (int8 with one f32 scale a block), then four int8 products a dp4a instruction instead of widening each weight.
//   omni_quantize_q8_rows(const float* x, int ldx, int M, int K, signed char* xq, float* xd)
//       xq [M, K] int8, xd [M, K / 32] f32 with d = max|x| / 127 over each 32; one warp a block of 32, grid-stride.
//   omni_gemv_q8_0_dp4a_mC(const signed char* xq, const float* xd, const signed char* qs, const unsigned short* d,
//        const float* bias, float* y, int ldy, int M, int N, int K, int wpr)
//       As omni_gemv_q8_0_mC, with the quantized activations.
extern "C" __global__ void omni_quantize_q8_rows(const float* x, int ldx, int M, int K,
                                                 signed char* __restrict__ xq, float* __restrict__ xd) {
    omni_pdl_trigger();
    omni_pdl_wait();
    const int K32 = K >> 5, lane = threadIdx.x & 31;
    const long long nb = (long long)M * K32;
    const long long warps = ((long long)gridDim.x * blockDim.x) >> 5;
    for (long long b = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; b < nb; b += warps) {
        const int m = (int)(b / K32), kb = (int)(b % K32);
        const float v = x[(long long)m * ldx + kb * 32 + lane];
        float a = fabsf(v);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) a = fmaxf(a, __shfl_xor_sync(0xffffffffu, a, o));
        const float d = a / 127.f;
        const int q = d > 0.f ? __float2int_rn(v / d) : 0;
        xq[(long long)m * K + kb * 32 + lane] = (signed char)q;
        if (lane == 0) xd[(long long)m * K32 + kb] = d;
    }
}

static __device__ __forceinline__ int gv_dp4a(unsigned a, unsigned b, int c) {
    int r;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
static __device__ __forceinline__ int gv_dot16(uint4 w, uint4 x) {
    return gv_dp4a(w.w, x.w, gv_dp4a(w.z, x.z, gv_dp4a(w.y, x.y, gv_dp4a(w.x, x.x, 0))));
}

template <int M>
static __device__ __forceinline__ void gemv_q8dp_t(int blk, const signed char* xq, const float* xd,
                                                   const signed char* __restrict__ qs, const unsigned short* __restrict__ d,
                                                   const float* __restrict__ bias, float* __restrict__ y, int ldy, int rows,
                                                   int N, int K, int wpr) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int groups = GV_WARPS / wpr;
    const int grp = blk * groups + warp / wpr, part = warp % wpr;
    const int n0 = grp * GV_NR;
    const int K16 = K >> 4, K32 = K >> 5;
    const uint4* wr[GV_NR];
    const unsigned short* dr[GV_NR];
#pragma unroll
    for (int r = 0; r < GV_NR; ++r) {
        long long n = min(n0 + r, N - 1);
        wr[r] = (const uint4*)(qs + n * K);
        dr[r] = d + n * K32;
    }
    float acc[M][GV_NR];
#pragma unroll
    for (int m = 0; m < M; ++m)
#pragma unroll
        for (int r = 0; r < GV_NR; ++r) acc[m][r] = 0.f;
    const int stride = 32 * wpr;
    bool waiting = true;  // the first weights are loaded before omni_pdl_wait()
    omni_pdl_trigger();
    if (n0 < N) {
        for (int c = part * 32 + lane; c < K16; c += 2 * stride) {
            const bool two = c + stride < K16;
            uint4 a[GV_NR], b[GV_NR];
            float da[GV_NR], db[GV_NR];
#pragma unroll
            for (int r = 0; r < GV_NR; ++r) {
                a[r] = gv_ld_stream(wr[r] + c);
                da[r] = gv_f16(dr[r][c >> 1]);
            }
            if (two) {
#pragma unroll
                for (int r = 0; r < GV_NR; ++r) {
                    b[r] = gv_ld_stream(wr[r] + c + stride);
                    db[r] = gv_f16(dr[r][(c + stride) >> 1]);
                }
            }
            if (waiting) { omni_pdl_wait(); waiting = false; }
#pragma unroll
            for (int m = 0; m < M; ++m) {
                const long long mm = m < rows ? m : 0;
                const uint4 xa = *(const uint4*)(xq + mm * K + c * 16);
                const float sa = xd[mm * K32 + (c >> 1)];
#pragma unroll
                for (int r = 0; r < GV_NR; ++r) acc[m][r] = fmaf(da[r] * sa, (float)gv_dot16(a[r], xa), acc[m][r]);
                if (two) {
                    const uint4 xb = *(const uint4*)(xq + mm * K + (c + stride) * 16);
                    const float sb = xd[mm * K32 + ((c + stride) >> 1)];
#pragma unroll
                    for (int r = 0; r < GV_NR; ++r) acc[m][r] = fmaf(db[r] * sb, (float)gv_dot16(b[r], xb), acc[m][r]);
                }
            }
        }
    }
    if (waiting) omni_pdl_wait();
    gv_finish<M>(acc, rows, n0, N, part, wpr, bias, y, ldy);
}

#define GV_DP4A_ENTRY(MM)                                                                                         \
    extern "C" __global__ void __launch_bounds__(256) omni_gemv_q8_0_dp4a_m##MM(                                 \
        const signed char* xq, const float* xd, const signed char* qs, const unsigned short* d, const float* bias, \
        float* y, int ldy, int M, int N, int K, int wpr) {                                                        \
        gemv_q8dp_t<MM>(blockIdx.x, xq, xd, qs, d, bias, y, ldy, M, N, K, wpr);                                               \
    }
GV_DP4A_ENTRY(1)
GV_DP4A_ENTRY(2)
GV_DP4A_ENTRY(4)
GV_DP4A_ENTRY(8)

// Two or three linear layers over the same activations in one launch (q/k/v, gate/up of a decode step): blocks
// [0, nb0) compute segment 0, the next nb1 blocks segment 1, the rest segment 2, each exactly as the one-weight
// kernel of its kind computes it (same split wpr, same order of additions). A segment: its weight (bf16 W, or Q8_0
// quants with their f16 scales right after the N·K quants, as repacked), bias (or null), y [M, N], N, wpr and its
// block count; an absent third segment has nb2 = 0 and is never reached.
//   omni_gemv3_bf16_mC(x, ldx, M, K, W0, b0, y0, N0, wpr0, nb0, W1, …, nb1, W2, …, nb2)
//   omni_gemv3_q8_0_mC(x, ldx, M, K, qs0, b0, y0, N0, wpr0, nb0, …)
//   omni_gemv3_q8_0_dp4a_mC(xq, xd, M, K, qs0, b0, y0, N0, wpr0, nb0, …)   (activations quantized once for all three)
#define GV3_SEGS                                                                                                   \
    const void *w0, const float *b0, float *y0, int n0, int wpr0, int nb0, const void *w1, const float *b1, float *y1, \
        int n1, int wpr1, int nb1, const void *w2, const float *b2, float *y2, int n2, int wpr2, int nb2
#define GV3_SELECT                                                                                                 \
    int blk = blockIdx.x;                                                                                          \
    const void *w = w0;                                                                                            \
    const float *bias = b0;                                                                                        \
    float *y = y0;                                                                                                 \
    int N = n0, wpr = wpr0;                                                                                        \
    if (blk >= nb0) {                                                                                              \
        blk -= nb0;                                                                                                \
        w = w1; bias = b1; y = y1; N = n1; wpr = wpr1;                                                             \
        if (blk >= nb1) { blk -= nb1; w = w2; bias = b2; y = y2; N = n2; wpr = wpr2; }                             \
    }                                                                                                              \
    (void)nb2;
#define GV3_ENTRY(MM, QMIN)                                                                                        \
    extern "C" __global__ void __launch_bounds__(256) omni_gemv3_bf16_m##MM(const float *x, int ldx, int M, int K,  \
                                                                           GV3_SEGS) {                             \
        GV3_SELECT                                                                                                 \
        gemv_bf16_t<MM>(blk, x, ldx, (const unsigned short *)w, bias, y, N, M, N, K, wpr);                         \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, QMIN) omni_gemv3_q8_0_m##MM(const float *x, int ldx, int M,   \
                                                                                 int K, GV3_SEGS) {                \
        GV3_SELECT                                                                                                 \
        const signed char *qs = (const signed char *)w;                                                            \
        gemv_q8_t<MM>(blk, x, ldx, qs, (const unsigned short *)(qs + (long long)N * K), bias, y, N, M, N, K, wpr);  \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256) omni_gemv3_q8_0_dp4a_m##MM(                                   \
        const signed char *xq, const float *xd, int M, int K, GV3_SEGS) {                                          \
        GV3_SELECT                                                                                                 \
        const signed char *qs = (const signed char *)w;                                                            \
        gemv_q8dp_t<MM>(blk, xq, xd, qs, (const unsigned short *)(qs + (long long)N * K), bias, y, N, M, N, K, wpr); \
    }
GV3_ENTRY(1, 3)
GV3_ENTRY(2, 1)
GV3_ENTRY(4, 1)
GV3_ENTRY(8, 1)
