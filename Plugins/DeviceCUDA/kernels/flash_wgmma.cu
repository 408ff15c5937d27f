// flash_wgmma.cu: flash-attention forward for head dim 128 on Hopper's warpgroup MMA (wgmma; sm_90a only).
//
// Same contract as flash_attention.cu's omni_flash_attn_fwd_d128_* (layouts, masks, `ranges`, scale, GQA), with
// everything of this file but the entry point compiled only where __CUDA_ARCH_FEAT_SM90_ALL is defined (NVRTC's
// sm_90a, which CUDAModule asks for on compute capability 9.0). Uses flash_attention.cu's helpers (it sorts after it).
//
// Work split: a block of two warpgroups (256 threads) takes 128 query rows of one head, each warpgroup 64 of them;
// key tiles of 128 rows. S = Q · Kᵀ is eight m64n128k16 MMAs with Q and K read from shared memory through
// descriptors; the online softmax runs on S's accumulator fragments (the mma.sync C layout, per warp 16 rows); P,
// rounded to bf16 in registers, is the A operand of O += P · V (eight more, V read transposed from shared memory).
// Shared memory holds Q and two stages of K and V, each as two 64-column halves of 128-byte rows with the 128-byte
// swizzle (16-byte chunk c of row r at chunk c ^ (r mod 8)), loaded with cp.async (Q converted from f32 and scaled
// into the log2 domain on the way). Dynamic shared memory: 5 × 32 KiB + 1 KiB (alignment to 1024 bytes, which the
// swizzle needs; CUDAFlash.wgmmaShared).
//
// Entry point
//   omni_flash_attn_fwd_d128_wgmma(const float* q, int ldq, const unsigned short* k, int ldk, const unsigned short* v,
//        int ldv, float* out, int ldo, int Tq, int Tk, int H, int KV, float scale, int causal, int keyOffset,
//        int window, const int* cuSeqlens, int nSeg, const float* mask, const int* ranges)
//       Grid: H * ceil(Tq / 128); block: 256; the parameters as omni_flash_attn_fwd_d128 takes them. ldq, ldo multiples
//       of 4; ldk, ldv multiples of 8; pointers 16-byte aligned.

#define FW_BM 128
#define FW_BN 128
#define FW_D 128
#define FW_TILE (128 * 256)  // bytes of one 128-row, 128-column bf16 tile (two 16 KiB halves)

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)

// Byte offset of 16-byte chunk `c` (0 … 15 along the 256-byte row) of row `r` in a swizzled tile of `rows` rows.
static __device__ __forceinline__ unsigned fw_off(int r, int c, int rows) {
    return (unsigned)((c >> 3) * rows * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

// A shared-memory matrix descriptor with the 128-byte swizzle: start address, leading and stride byte offsets.
static __device__ __forceinline__ unsigned long long fw_desc(unsigned addr, unsigned lbo, unsigned sbo) {
    unsigned long long d = (unsigned long long)((addr & 0x3FFFF) >> 4);
    d |= (unsigned long long)((lbo & 0x3FFFF) >> 4) << 16;
    d |= (unsigned long long)((sbo & 0x3FFFF) >> 4) << 32;
    d |= 1ull << 62;
    return d;
}

static __device__ __forceinline__ void fw_mma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
static __device__ __forceinline__ void fw_mma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
static __device__ __forceinline__ void fw_mma_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
static __device__ __forceinline__ void fw_proxy_fence() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// D (64 × 128, f32, the accumulator fragments) (+)= A · B with A and B from shared memory (K-major, 128-byte
// swizzle; descriptors `da`, `db`); scaleD = 0 overwrites D.
static __device__ __forceinline__ void fw_wgmma_ss(float* d, unsigned long long da, unsigned long long db, int scaleD) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "%64, %65, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(scaleD));
}

// D (64 × 128, f32) += A · B with A from registers (`a`: the m64 × k16 bf16 fragment) and B from shared memory,
// MN-major (transposed; descriptor `db`).
static __device__ __forceinline__ void fw_wgmma_rs_tb(float* d, const unsigned* a, unsigned long long db) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
        "{%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
}

// Keeps the compiler from moving accesses to an accumulator across the asynchronous MMAs.
static __device__ __forceinline__ void fw_fence_regs(float* d, int n) {
#pragma unroll
    for (int i = 0; i < n; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// VSWAP: the V descriptor's leading and stride byte offsets swapped (kept for the kernel harness's layout check).
template <int VSWAP>
static __device__ __forceinline__ void flash_fwd_wgmma(const float* __restrict__ q, int ldq, const bf16raw* __restrict__ k,
                                                       int ldk, const bf16raw* __restrict__ v, int ldv,
                                                       float* __restrict__ out, int ldo, int Tq, int Tk, int H, int KV,
                                                       float scale, int causal, int off, int window,
                                                       const int* __restrict__ cu, int nSeg,
                                                       const float* __restrict__ mask, const int* __restrict__ ranges) {
    extern __shared__ __align__(16) unsigned char fw_smem_raw[];
    const unsigned raw = fa_smem_addr(fw_smem_raw);
    const unsigned pad = ((raw + 1023) & ~1023u) - raw;
    unsigned char* smem = fw_smem_raw + pad;
    const unsigned sQ = raw + pad;                  // [2 halves][128 rows][128 B]
    const unsigned sK0 = sQ + FW_TILE;              // K stages at sK0, sK0 + FW_TILE
    const unsigned sV0 = sQ + 3 * FW_TILE;          // V stages at sV0, sV0 + FW_TILE

    const int h = blockIdx.x % H;
    const int m0 = ((int)(gridDim.x / H) - 1 - (int)(blockIdx.x / H)) * FW_BM;
    const int kvh = h / (H / KV);
    const int tid = threadIdx.x, wg = tid >> 7, wl = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    const int r0 = m0 + wg * 64 + wl * 16 + g, r1 = r0 + 8;
    const float LOG2E = 1.4426950408889634f;
    const float qs = scale * LOG2E;

    // Q tile → bf16, scaled, swizzled (rows past Tq are zeros).
    for (int c = tid; c < FW_BM * 16; c += 256) {
        int row = c >> 4, ch = c & 15;
        float4 a = make_float4(0.f, 0.f, 0.f, 0.f), b = a;
        if (m0 + row < Tq) {
            const float* src = q + (long long)(m0 + row) * ldq + h * FW_D + ch * 8;
            a = *(const float4*)src;
            b = *(const float4*)(src + 4);
        }
        uint4 y;
        y.x = fa_pack_bf16x2(a.x * qs, a.y * qs);
        y.y = fa_pack_bf16x2(a.z * qs, a.w * qs);
        y.z = fa_pack_bf16x2(b.x * qs, b.y * qs);
        y.w = fa_pack_bf16x2(b.z * qs, b.w * qs);
        *(uint4*)(smem + fw_off(row, ch, FW_BM)) = y;
    }

    int rlo[2], rhi[2];
    fa_row_range(r0, Tq, Tk, causal, off, window, cu, nSeg, ranges, rlo[0], rhi[0]);
    fa_row_range(r1, Tq, Tk, causal, off, window, cu, nSeg, ranges, rlo[1], rhi[1]);
    const int last = min(m0 + FW_BM, Tq) - 1;
    int fLo, fHi, lLo, lHi;
    fa_row_range(m0, Tq, Tk, causal, off, window, cu, nSeg, ranges, fLo, fHi);
    fa_row_range(last, Tq, Tk, causal, off, window, cu, nSeg, ranges, lLo, lHi);
    const int blo = fLo, bhi = lHi;
    const int allLo = lLo, allHi = fHi;

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.f;
    float mrow[2] = {FA_NEG_INF, FA_NEG_INF}, lrow[2] = {0.f, 0.f};

    const int nt = bhi > blo ? (bhi - blo + FW_BN - 1) / FW_BN : 0;
    auto load_tile = [&](int it, int stage) {
        int t0 = blo + it * FW_BN;
        unsigned dk = sK0 + stage * FW_TILE, dv = sV0 + stage * FW_TILE;
        for (int c = tid; c < FW_BN * 16; c += 256) {
            int row = c >> 4, ch = c & 15;
            int key = t0 + row;
            int ok = key < Tk ? 16 : 0;
            int kk = key < Tk ? key : 0;
            unsigned o_ = fw_off(row, ch, FW_BN);
            fa_cp_async16(dk + o_, k + (long long)kk * ldk + kvh * FW_D + ch * 8, ok);
            fa_cp_async16(dv + o_, v + (long long)kk * ldv + kvh * FW_D + ch * 8, ok);
        }
    };
    if (nt > 0) load_tile(0, 0);
    fa_cp_commit();

    const unsigned qBase = sQ + wg * 64 * 128;  // this warpgroup's 64 rows in each half (1024-byte aligned)
    for (int it = 0; it < nt; ++it) {
        const int stage = it & 1;
        if (it + 1 < nt) load_tile(it + 1, stage ^ 1);
        fa_cp_commit();
        fa_cp_wait<1>();
        fw_proxy_fence();
        __syncthreads();
        const int t0 = blo + it * FW_BN;
        const unsigned kBase = sK0 + stage * FW_TILE, vBase = sV0 + stage * FW_TILE;

        // S = Q · Kᵀ over the 128 columns: 8 k-steps of 16 (4 in each 64-column half, 32 bytes apart).
        float s[64];
        fw_fence_regs(s, 64);
        fw_mma_fence();
#pragma unroll
        for (int ks = 0; ks < 8; ++ks) {
            const unsigned kof = (ks & 3) * 32;
            unsigned long long da = fw_desc(qBase + (ks >> 2) * (FW_BM * 128) + kof, 16, 1024);
            unsigned long long db = fw_desc(kBase + (ks >> 2) * (FW_BN * 128) + kof, 16, 1024);
            fw_wgmma_ss(s, da, db, ks > 0);
        }
        fw_mma_commit();
        fw_mma_wait0();
        fw_fence_regs(s, 64);

        const bool needMask = mask != 0 || t0 < allLo || t0 + FW_BN > allHi;
        if (needMask) {
#pragma unroll
            for (int j = 0; j < 16; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    int key = t0 + j * 8 + 2 * tq + (e & 1);
                    int ri = e >> 1;
                    int row = ri ? r1 : r0;
                    bool ok = key >= rlo[ri] && key < rhi[ri];
                    float x = s[j * 4 + e];
                    if (ok && mask) x += mask[(long long)row * Tk + key] * LOG2E;
                    s[j * 4 + e] = ok ? x : FA_NEG_INF;
                }
            }
        }

#pragma unroll
        for (int ri = 0; ri < 2; ++ri) {
            float mx = FA_NEG_INF;
#pragma unroll
            for (int j = 0; j < 16; ++j) mx = fmaxf(mx, fmaxf(s[j * 4 + 2 * ri], s[j * 4 + 2 * ri + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
            float mnew = fmaxf(mrow[ri], mx);
            float msafe = mnew == FA_NEG_INF ? 0.f : mnew;
            float alpha = fa_exp2(mrow[ri] - msafe);
            mrow[ri] = mnew;
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < 16; ++j) {
                float p0 = fa_exp2(s[j * 4 + 2 * ri] - msafe), p1 = fa_exp2(s[j * 4 + 2 * ri + 1] - msafe);
                s[j * 4 + 2 * ri] = p0;
                s[j * 4 + 2 * ri + 1] = p1;
                sum += p0 + p1;
            }
            lrow[ri] = lrow[ri] * alpha + sum;
#pragma unroll
            for (int j = 0; j < 16; ++j) {
                o[j * 4 + 2 * ri] *= alpha;
                o[j * 4 + 2 * ri + 1] *= alpha;
            }
        }

        // O += P · V: P's k-step kk (keys 16kk … 16kk + 15) from score tiles 2kk and 2kk + 1; V's rows 16kk … at
        // 2048-byte steps, its two 64-column halves FW_BN × 128 bytes apart.
        unsigned pa[8][4];
#pragma unroll
        for (int kk = 0; kk < 8; ++kk) {
            pa[kk][0] = fa_pack_bf16x2(s[(2 * kk) * 4 + 0], s[(2 * kk) * 4 + 1]);
            pa[kk][1] = fa_pack_bf16x2(s[(2 * kk) * 4 + 2], s[(2 * kk) * 4 + 3]);
            pa[kk][2] = fa_pack_bf16x2(s[(2 * kk + 1) * 4 + 0], s[(2 * kk + 1) * 4 + 1]);
            pa[kk][3] = fa_pack_bf16x2(s[(2 * kk + 1) * 4 + 2], s[(2 * kk + 1) * 4 + 3]);
        }
        const unsigned lbo = VSWAP ? 1024 : FW_BN * 128, sbo = VSWAP ? FW_BN * 128 : 1024;
        fw_fence_regs(o, 64);
        fw_mma_fence();
#pragma unroll
        for (int kk = 0; kk < 8; ++kk) fw_wgmma_rs_tb(o, pa[kk], fw_desc(vBase + kk * 2048, lbo, sbo));
        fw_mma_commit();
        fw_mma_wait0();
        fw_fence_regs(o, 64);
        __syncthreads();
    }

#pragma unroll
    for (int ri = 0; ri < 2; ++ri) {
        float l = lrow[ri];
        l += __shfl_xor_sync(0xffffffff, l, 1);
        l += __shfl_xor_sync(0xffffffff, l, 2);
        float inv = l > 0.f ? 1.f / l : 0.f;
        int row = ri ? r1 : r0;
        if (row < Tq) {
            float* op = out + (long long)row * ldo + h * FW_D + 2 * tq;
#pragma unroll
            for (int j = 0; j < 16; ++j)
                *(float2*)(op + j * 8) = make_float2(o[j * 4 + 2 * ri] * inv, o[j * 4 + 2 * ri + 1] * inv);
        }
    }
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

extern "C" __global__ void __launch_bounds__(256, 1)
omni_flash_attn_fwd_d128_wgmma(const float* q, int ldq, const bf16raw* k, int ldk, const bf16raw* v, int ldv, float* out,
                               int ldo, int Tq, int Tk, int H, int KV, float scale, int causal, int off, int window,
                               const int* cu, int nSeg, const float* mask, const int* ranges) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    flash_fwd_wgmma<0>(q, ldq, k, ldk, v, ldv, out, ldo, Tq, Tk, H, KV, scale, causal, off, window, cu, nSeg, mask, ranges);
#endif
}
