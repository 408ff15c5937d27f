// flash_attention.cu: flash-attention-2 forward for prefill (bf16 tensor cores, f32 accumulation).
//
// No #include: compiled by NVRTC for sm_80 and newer (sm_90 on the H200); bf16 by bit operations, the tensor
// cores through inline PTX (mma.sync m16n8k16, ldmatrix, cp.async).
//
// Layout (the graph's): q [Tq, ldq] f32 with element (t, h, d) at q[t*ldq + h*D + d]; out likewise [Tq, ldo];
// K and V are first converted once to bf16 rows [Tk, ldk] / [Tk, ldv] (element (t, kvh, d) at
// k[t*ldk + kvh*D + d]) by `omni_attn_convert_bf16`, so the main kernel streams half the bytes with 16-byte cp.async.
// Query head h reads KV head h / (H / KV) (GQA).
//
// Entry points
//   omni_attn_convert_bf16(const float* src, int rows, int cols, int ld, unsigned short* dst)
//       dst[r*cols + c] = bf16(src[r*ld + c]) (round to nearest even); cols % 4 == 0, ld % 4 == 0.
//       Grid: any; block: any (grid-stride over rows*cols/4).
//   omni_flash_attn_fwd_d64 / _d80 / _d128 (4 warps, 64 query rows a block) and omni_flash_attn_fwd_d128_w8 (8 warps,
//   128 rows), all with the parameters
//       (const float* q, int ldq, const unsigned short* k, int ldk, const unsigned short* v, int ldv,
//        float* out, int ldo, int Tq, int Tk, int H, int KV, float scale,
//        int causal, int keyOffset, int window, const int* cuSeqlens, int nSeg, const float* mask)
//       Mask semantics (those of AttentionMask on the CPU): query i sits at absolute position keyOffset + i;
//       causal drops keys j > keyOffset + i; window > 0 drops keys with (keyOffset + i) − j ≥ window;
//       cuSeqlens (nSeg + 1 boundaries 0 … Tq, nSeg = 0 for none) keeps only keys in query i's segment
//       (block-diagonal, Tq == Tk); mask (null for none) is an additive f32 [Tq, Tk]. A query that sees no key
//       gets zeros.
//       Grid: H * ceil(Tq / BM) (one dimension); block: 32 * warps; dynamic shared memory omni_flash_attn_smem_bytes(D, BM) =
//       2 stages * 2 (K, V) * 64 * (D + 8) * 2 bytes (raise the limit with cuFuncSetAttribute above 48 KiB).
//       ldq, ldo even; ldk, ldv multiples of 8; pointers 16-byte aligned.

typedef unsigned short bf16raw;

#define FA_BN 64
#define FA_NEG_INF __int_as_float(0xff800000)

static __device__ __forceinline__ unsigned fa_pack_bf16x2(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

static __device__ __forceinline__ unsigned fa_smem_addr(const void* p) {
    unsigned r;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
    return r;
}

static __device__ __forceinline__ void fa_cp_async16(unsigned dst, const void* src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(bytes));
}
static __device__ __forceinline__ void fa_cp_commit() { asm volatile("cp.async.commit_group;"); }
template <int N> static __device__ __forceinline__ void fa_cp_wait() {
    asm volatile("cp.async.wait_group %0;" ::"n"(N));
}

static __device__ __forceinline__ void fa_mma(float* c, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ void fa_ldmatrix_x4_trans(unsigned* r, unsigned addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

static __device__ __forceinline__ float fa_exp2(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

// Segment [start, end) of row i under cu_seqlens (nSeg + 1 entries).
static __device__ __forceinline__ void fa_segment(const int* cu, int nSeg, int i, int& s, int& e) {
    int lo = 0, hi = nSeg - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (cu[mid] <= i) lo = mid; else hi = mid - 1;
    }
    s = cu[lo];
    e = cu[lo + 1];
}

// Visible key interval [lo, hi) of query row i (structural mask only): from `ranges` (int pairs per query) when
// given, else from causal / window / segments. Rows past Tq see nothing.
static __device__ __forceinline__ void fa_row_range(int i, int Tq, int Tk, int causal, int off, int window,
                                                    const int* cu, int nSeg, const int* ranges, int& lo, int& hi) {
    if (i >= Tq) { lo = 0; hi = 0; return; }
    if (ranges) { lo = max(0, ranges[2 * i]); hi = min(Tk, ranges[2 * i + 1]); return; }
    lo = 0;
    hi = Tk;
    int pos = off + i;
    if (causal) hi = min(hi, pos + 1);
    if (window > 0) lo = max(lo, pos - window + 1);
    if (nSeg > 0) {
        int s, e;
        fa_segment(cu, nSeg, i, s, e);
        lo = max(lo, s);
        hi = min(hi, e);
    }
}

template <int D, int NW>
static __device__ __forceinline__ void flash_fwd(const float* __restrict__ q, int ldq, const bf16raw* __restrict__ k,
                                                 int ldk, const bf16raw* __restrict__ v, int ldv,
                                                 float* __restrict__ out, int ldo, int Tq, int Tk, int H, int KV,
                                                 float scale, int causal, int off, int window,
                                                 const int* __restrict__ cu, int nSeg,
                                                 const float* __restrict__ mask, const int* __restrict__ ranges) {
    constexpr int BM = 16 * NW, BN = FA_BN, LDS = D + 8, KS = D / 16, NTD = D / 8, NTN = BN / 8;
    constexpr int CH = D / 8;  // 16-byte chunks per row
    extern __shared__ __align__(16) unsigned char fa_smem[];
    bf16raw* sK = (bf16raw*)fa_smem;      // [2][BN][LDS]
    bf16raw* sV = sK + 2 * BN * LDS;      // [2][BN][LDS]

    // 1-D grid of H × ceil(Tq / BM) blocks: heads vary fastest, heavy (late, causal) query blocks first.
    const int h = blockIdx.x % H;
    const int m0 = ((int)(gridDim.x / H) - 1 - (int)(blockIdx.x / H)) * BM;
    const int kvh = h / (H / KV);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    const int r0 = m0 + warp * 16 + g, r1 = r0 + 8;
    const float LOG2E = 1.4426950408889634f;
    const float qs = scale * LOG2E;

    // Q fragments (scaled into the log2 domain), kept in registers for the whole key loop.
    unsigned qf[KS][4];
#pragma unroll
    for (int ks = 0; ks < KS; ++ks) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            int row = (i & 1) ? r1 : r0;
            int col = ks * 16 + (i >> 1) * 8 + 2 * tq;
            float2 x = make_float2(0.f, 0.f);
            if (row < Tq) x = *(const float2*)(q + (long long)row * ldq + h * D + col);
            qf[ks][i] = fa_pack_bf16x2(x.x * qs, x.y * qs);
        }
    }

    // Visible key ranges: per row, and the union / intersection over the block's valid rows.
    int rlo[2], rhi[2];
    fa_row_range(r0, Tq, Tk, causal, off, window, cu, nSeg, ranges, rlo[0], rhi[0]);
    fa_row_range(r1, Tq, Tk, causal, off, window, cu, nSeg, ranges, rlo[1], rhi[1]);
    const int last = min(m0 + BM, Tq) - 1;
    int fLo, fHi, lLo, lHi;
    fa_row_range(m0, Tq, Tk, causal, off, window, cu, nSeg, ranges, fLo, fHi);
    fa_row_range(last, Tq, Tk, causal, off, window, cu, nSeg, ranges, lLo, lHi);
    // Ranges are monotone in the row for causal / window / segments: the union runs from the first row's lo
    // to the last row's hi, and every row sees [last row's lo, first row's hi).
    const int blo = fLo, bhi = lHi;
    const int allLo = lLo, allHi = fHi;

    float o[NTD][4];
#pragma unroll
    for (int j = 0; j < NTD; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
    float mrow[2] = {FA_NEG_INF, FA_NEG_INF}, lrow[2] = {0.f, 0.f};

    const int nt = bhi > blo ? (bhi - blo + BN - 1) / BN : 0;
    auto load_tile = [&](int it, int stage) {
        int t0 = blo + it * BN;
        bf16raw* dk = sK + stage * BN * LDS;
        bf16raw* dv = sV + stage * BN * LDS;
        for (int c = tid; c < BN * CH; c += NW * 32) {
            int row = c / CH, ch = c % CH;
            int key = t0 + row;
            int ok = key < Tk ? 16 : 0;
            int kk = key < Tk ? key : 0;
            fa_cp_async16(fa_smem_addr(dk + row * LDS + ch * 8), k + (long long)kk * ldk + kvh * D + ch * 8, ok);
            fa_cp_async16(fa_smem_addr(dv + row * LDS + ch * 8), v + (long long)kk * ldv + kvh * D + ch * 8, ok);
        }
    };
    if (nt > 0) load_tile(0, 0);
    fa_cp_commit();

    for (int it = 0; it < nt; ++it) {
        const int stage = it & 1;
        if (it + 1 < nt) load_tile(it + 1, stage ^ 1);
        fa_cp_commit();
        fa_cp_wait<1>();
        __syncthreads();
        const int t0 = blo + it * BN;
        const bf16raw* tK = sK + stage * BN * LDS;
        const bf16raw* tV = sV + stage * BN * LDS;

        float s[NTN][4];
#pragma unroll
        for (int j = 0; j < NTN; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < KS; ++ks) {
#pragma unroll
            for (int j = 0; j < NTN; ++j) {
                const bf16raw* kp = tK + (j * 8 + g) * LDS + ks * 16 + 2 * tq;
                unsigned b0 = *(const unsigned*)kp;
                unsigned b1 = *(const unsigned*)(kp + 8);
                fa_mma(s[j], qf[ks], b0, b1);
            }
        }

        const bool needMask = mask != 0 || t0 < allLo || t0 + BN > allHi;
        if (needMask) {
#pragma unroll
            for (int j = 0; j < NTN; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    int key = t0 + j * 8 + 2 * tq + (e & 1);
                    int ri = e >> 1;
                    int row = ri ? r1 : r0;
                    bool ok = key >= rlo[ri] && key < rhi[ri];
                    float x = s[j][e];
                    if (ok && mask) x += mask[(long long)row * Tk + key] * LOG2E;
                    s[j][e] = ok ? x : FA_NEG_INF;
                }
            }
        }

        // Online softmax over the tile, rows r0 (elements 0, 1) and r1 (elements 2, 3).
#pragma unroll
        for (int ri = 0; ri < 2; ++ri) {
            float mx = FA_NEG_INF;
#pragma unroll
            for (int j = 0; j < NTN; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * ri], s[j][2 * ri + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
            float mnew = fmaxf(mrow[ri], mx);
            float msafe = mnew == FA_NEG_INF ? 0.f : mnew;
            float alpha = fa_exp2(mrow[ri] - msafe);
            mrow[ri] = mnew;
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < NTN; ++j) {
                float p0 = fa_exp2(s[j][2 * ri] - msafe), p1 = fa_exp2(s[j][2 * ri + 1] - msafe);
                s[j][2 * ri] = p0;
                s[j][2 * ri + 1] = p1;
                sum += p0 + p1;
            }
            lrow[ri] = lrow[ri] * alpha + sum;
#pragma unroll
            for (int j = 0; j < NTD; ++j) {
                o[j][2 * ri] *= alpha;
                o[j][2 * ri + 1] *= alpha;
            }
        }

        // O += P · V: P from the score registers (C layout of two n-tiles == A layout of one k-step).
#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            unsigned pa[4];
            pa[0] = fa_pack_bf16x2(s[2 * kk][0], s[2 * kk][1]);
            pa[1] = fa_pack_bf16x2(s[2 * kk][2], s[2 * kk][3]);
            pa[2] = fa_pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[3] = fa_pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
            const int vrow = kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7);
#pragma unroll
            for (int dn = 0; dn < NTD / 2; ++dn) {
                unsigned b[4];
                fa_ldmatrix_x4_trans(b, fa_smem_addr(tV + vrow * LDS + dn * 16 + (lane >> 4) * 8));
                fa_mma(o[2 * dn], pa, b[0], b[1]);
                fa_mma(o[2 * dn + 1], pa, b[2], b[3]);
            }
        }
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
            float* op = out + (long long)row * ldo + h * D + 2 * tq;
#pragma unroll
            for (int j = 0; j < NTD; ++j)
                *(float2*)(op + j * 8) = make_float2(o[j][2 * ri] * inv, o[j][2 * ri + 1] * inv);
        }
    }
}

static __device__ __forceinline__ void fa_ldmatrix_x4(unsigned* r, unsigned addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
}

// The FA2 work split: each warp owns MT m-tiles of 16 query rows (MT = 2: 32 rows), so every K and V fragment
// read from shared memory feeds MT tensor-core ops; Q lives in shared memory as bf16 and is read with ldmatrix
// per k-step (registers hold the MT × D/8 output tiles and MT × 8 score tiles instead).
// Dynamic shared memory: omni_flash_attn_mt_smem_bytes(D, BM) = (BM + 4 * 64) * (D + 8) * 2.
template <int D, int NW, int MT>
static __device__ __forceinline__ void flash_fwd_mt(const float* __restrict__ q, int ldq, const bf16raw* __restrict__ k,
                                                    int ldk, const bf16raw* __restrict__ v, int ldv,
                                                    float* __restrict__ out, int ldo, int Tq, int Tk, int H, int KV,
                                                    float scale, int causal, int off, int window,
                                                    const int* __restrict__ cu, int nSeg,
                                                    const float* __restrict__ mask, const int* __restrict__ ranges) {
    constexpr int BM = 16 * MT * NW, BN = FA_BN, LDS = D + 8, KS = D / 16, NTD = D / 8, NTN = BN / 8;
    constexpr int CH = D / 8;
    extern __shared__ __align__(16) unsigned char fa_smem[];
    bf16raw* sQ = (bf16raw*)fa_smem;      // [BM][LDS]
    bf16raw* sK = sQ + BM * LDS;          // [2][BN][LDS]
    bf16raw* sV = sK + 2 * BN * LDS;      // [2][BN][LDS]

    const int h = blockIdx.x % H;
    const int m0 = ((int)(gridDim.x / H) - 1 - (int)(blockIdx.x / H)) * BM;
    const int kvh = h / (H / KV);
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, tq = lane & 3;
    const int wr0 = m0 + warp * 16 * MT;  // first row of this warp
    const float LOG2E = 1.4426950408889634f;
    const float qs = scale * LOG2E;

    // Q tile → bf16 shared memory, scaled into the log2 domain (rows past Tq are zeros).
    for (int c = tid; c < BM * (D / 4); c += NW * 32) {
        int row = c / (D / 4), col = (c % (D / 4)) * 4;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (m0 + row < Tq) x = *(const float4*)(q + (long long)(m0 + row) * ldq + h * D + col);
        uint2 y;
        y.x = fa_pack_bf16x2(x.x * qs, x.y * qs);
        y.y = fa_pack_bf16x2(x.z * qs, x.w * qs);
        *(uint2*)(sQ + row * LDS + col) = y;
    }

    const int last = min(m0 + BM, Tq) - 1;
    int fLo, fHi, lLo, lHi;
    fa_row_range(m0, Tq, Tk, causal, off, window, cu, nSeg, ranges, fLo, fHi);
    fa_row_range(last, Tq, Tk, causal, off, window, cu, nSeg, ranges, lLo, lHi);
    const int blo = fLo, bhi = lHi;
    const int allLo = lLo, allHi = fHi;

    float o[MT][NTD][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int j = 0; j < NTD; ++j) o[mt][j][0] = o[mt][j][1] = o[mt][j][2] = o[mt][j][3] = 0.f;
    float mrow[MT][2], lrow[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        mrow[mt][0] = mrow[mt][1] = FA_NEG_INF;
        lrow[mt][0] = lrow[mt][1] = 0.f;
    }

    const int nt = bhi > blo ? (bhi - blo + BN - 1) / BN : 0;
    auto load_tile = [&](int it, int stage) {
        int t0 = blo + it * BN;
        bf16raw* dk = sK + stage * BN * LDS;
        bf16raw* dv = sV + stage * BN * LDS;
        for (int c = tid; c < BN * CH; c += NW * 32) {
            int row = c / CH, ch = c % CH;
            int key = t0 + row;
            int ok = key < Tk ? 16 : 0;
            int kk = key < Tk ? key : 0;
            fa_cp_async16(fa_smem_addr(dk + row * LDS + ch * 8), k + (long long)kk * ldk + kvh * D + ch * 8, ok);
            fa_cp_async16(fa_smem_addr(dv + row * LDS + ch * 8), v + (long long)kk * ldv + kvh * D + ch * 8, ok);
        }
    };
    if (nt > 0) load_tile(0, 0);
    fa_cp_commit();

    // Per-lane ldmatrix offsets (elements): A (Q) rows lane & 15, column half lane >> 4;
    // B (K, non-transposed) key (lane & 7) + (lane >> 4) * 8, column half (lane >> 3) & 1;
    // V (transposed) key (lane & 7) + ((lane >> 3) & 1) * 8, column half lane >> 4.
    const int qOff = (warp * 16 * MT + (lane & 15)) * LDS + (lane >> 4) * 8;
    const int kOff = ((lane & 7) + (lane >> 4) * 8) * LDS + ((lane >> 3) & 1) * 8;
    const int vOff = ((lane & 7) + ((lane >> 3) & 1) * 8) * LDS + (lane >> 4) * 8;
    const unsigned sQa = fa_smem_addr(sQ);

    for (int it = 0; it < nt; ++it) {
        const int stage = it & 1;
        if (it + 1 < nt) load_tile(it + 1, stage ^ 1);
        fa_cp_commit();
        fa_cp_wait<1>();
        __syncthreads();
        const int t0 = blo + it * BN;
        const unsigned sKa = fa_smem_addr(sK + stage * BN * LDS), sVa = fa_smem_addr(sV + stage * BN * LDS);

        float s[MT][NTN][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int j = 0; j < NTN; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < KS; ++ks) {
            unsigned a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) fa_ldmatrix_x4(a[mt], sQa + 2 * (qOff + mt * 16 * LDS + ks * 16));
#pragma unroll
            for (int j = 0; j < NTN; j += 2) {
                unsigned b[4];
                fa_ldmatrix_x4(b, sKa + 2 * (kOff + j * 8 * LDS + ks * 16));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    fa_mma(s[mt][j], a[mt], b[0], b[1]);
                    fa_mma(s[mt][j + 1], a[mt], b[2], b[3]);
                }
            }
        }

        const bool needMask = mask != 0 || t0 < allLo || t0 + BN > allHi;
        if (needMask) {
            if constexpr (D < 128) {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int ri = 0; ri < 2; ++ri) {
                        // One range per row and tile (not per element: segments cost a binary search).
                        const int row = wr0 + mt * 16 + ri * 8 + g;
                        int lo, hi;
                        fa_row_range(row, Tq, Tk, causal, off, window, cu, nSeg, ranges, lo, hi);
#pragma unroll
                        for (int j = 0; j < NTN; ++j)
#pragma unroll
                            for (int e2 = 0; e2 < 2; ++e2) {
                                const int key = t0 + j * 8 + 2 * tq + e2;
                                const bool ok = key >= lo && key < hi;
                                float x = s[mt][j][2 * ri + e2];
                                if (ok && mask) x += mask[(long long)row * Tk + key] * LOG2E;
                                s[mt][j][2 * ri + e2] = ok ? x : FA_NEG_INF;
                            }
                    }
            } else {
                // D 128: per element (hoisting the ranges costs registers the 32-row tiles need; the thinker's
                // masks have no segments, so a range is a few integer operations).
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                    for (int j = 0; j < NTN; ++j)
#pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            int key = t0 + j * 8 + 2 * tq + (e & 1);
                            int ri = e >> 1;
                            int row = wr0 + mt * 16 + ri * 8 + g;
                            int lo, hi;
                            fa_row_range(row, Tq, Tk, causal, off, window, cu, nSeg, ranges, lo, hi);
                            bool ok = key >= lo && key < hi;
                            float x = s[mt][j][e];
                            if (ok && mask) x += mask[(long long)row * Tk + key] * LOG2E;
                            s[mt][j][e] = ok ? x : FA_NEG_INF;
                        }
            }
        }

#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int ri = 0; ri < 2; ++ri) {
                float mx = FA_NEG_INF;
#pragma unroll
                for (int j = 0; j < NTN; ++j) mx = fmaxf(mx, fmaxf(s[mt][j][2 * ri], s[mt][j][2 * ri + 1]));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
                float mnew = fmaxf(mrow[mt][ri], mx);
                float msafe = mnew == FA_NEG_INF ? 0.f : mnew;
                float alpha = fa_exp2(mrow[mt][ri] - msafe);
                mrow[mt][ri] = mnew;
                float sum = 0.f;
#pragma unroll
                for (int j = 0; j < NTN; ++j) {
                    float p0 = fa_exp2(s[mt][j][2 * ri] - msafe), p1 = fa_exp2(s[mt][j][2 * ri + 1] - msafe);
                    s[mt][j][2 * ri] = p0;
                    s[mt][j][2 * ri + 1] = p1;
                    sum += p0 + p1;
                }
                lrow[mt][ri] = lrow[mt][ri] * alpha + sum;
#pragma unroll
                for (int j = 0; j < NTD; ++j) {
                    o[mt][j][2 * ri] *= alpha;
                    o[mt][j][2 * ri + 1] *= alpha;
                }
            }

#pragma unroll
        for (int kk = 0; kk < BN / 16; ++kk) {
            unsigned pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                pa[mt][0] = fa_pack_bf16x2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pa[mt][1] = fa_pack_bf16x2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pa[mt][2] = fa_pack_bf16x2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pa[mt][3] = fa_pack_bf16x2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
#pragma unroll
            for (int dn = 0; dn < NTD / 2; ++dn) {
                unsigned b[4];
                fa_ldmatrix_x4_trans(b, sVa + 2 * (vOff + kk * 16 * LDS + dn * 16));
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    fa_mma(o[mt][2 * dn], pa[mt], b[0], b[1]);
                    fa_mma(o[mt][2 * dn + 1], pa[mt], b[2], b[3]);
                }
            }
        }
        __syncthreads();
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int ri = 0; ri < 2; ++ri) {
            float l = lrow[mt][ri];
            l += __shfl_xor_sync(0xffffffff, l, 1);
            l += __shfl_xor_sync(0xffffffff, l, 2);
            float inv = l > 0.f ? 1.f / l : 0.f;
            int row = wr0 + mt * 16 + ri * 8 + g;
            if (row < Tq) {
                float* op = out + (long long)row * ldo + h * D + 2 * tq;
#pragma unroll
                for (int j = 0; j < NTD; ++j)
                    *(float2*)(op + j * 8) = make_float2(o[mt][j][2 * ri] * inv, o[mt][j][2 * ri + 1] * inv);
            }
        }
}

#define FA_PARAMS                                                                                        \
    const float *q, int ldq, const bf16raw *k, int ldk, const bf16raw *v, int ldv, float *out, int ldo, \
        int Tq, int Tk, int H, int KV, float scale, int causal, int keyOffset, int window,              \
        const int *cuSeqlens, int nSeg, const float *mask, const int *ranges
#define FA_ARGS q, ldq, k, ldk, v, ldv, out, ldo, Tq, Tk, H, KV, scale, causal, keyOffset, window, cuSeqlens, nSeg, mask, ranges

extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d64(FA_PARAMS) { flash_fwd<64, 4>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d80(FA_PARAMS) { flash_fwd<80, 4>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d128(FA_PARAMS) { flash_fwd<128, 4>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(256) omni_flash_attn_fwd_d128_w8(FA_PARAMS) { flash_fwd<128, 8>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d128_mt2(FA_PARAMS) { flash_fwd_mt<128, 4, 2>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(256) omni_flash_attn_fwd_d128_mt2w8(FA_PARAMS) { flash_fwd_mt<128, 8, 2>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(256) omni_flash_attn_fwd_d128_mt1w8(FA_PARAMS) { flash_fwd_mt<128, 8, 1>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d64_mt2(FA_PARAMS) { flash_fwd_mt<64, 4, 2>(FA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_d80_mt2(FA_PARAMS) { flash_fwd_mt<80, 4, 2>(FA_ARGS); }

extern "C" __global__ void omni_attn_convert_bf16(const float* __restrict__ src, int rows, int cols, int ld,
                                             bf16raw* __restrict__ dst) {
    const int c4 = cols >> 2;
    const long long n = (long long)rows * c4;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long r = i / c4;
        int c = (int)(i % c4) * 4;
        float4 x = *(const float4*)(src + r * ld + c);
        uint2 y;
        y.x = fa_pack_bf16x2(x.x, x.y);
        y.y = fa_pack_bf16x2(x.z, x.w);
        *(uint2*)(dst + r * cols + c) = y;
    }
}

// The f32 path (the parity mode): the same function with f32 inputs and arithmetic throughout, no tensor cores.
// One warp per (query row, head); keys 32 at a time, one per lane for the scores, then every lane accumulates its
// columns d = lane + 32·i of P·V. Grid ceil(Tq·H / 4), block 128; D ≤ 256, D % 4 == 0; k, v f32 rows.
extern "C" __global__ void __launch_bounds__(128) omni_flash_attn_fwd_f32(
    const float* __restrict__ q, int ldq, const float* __restrict__ k, int ldk, const float* __restrict__ v, int ldv,
    float* __restrict__ out, int ldo, int Tq, int Tk, int H, int KV, int D, float scale, int causal, int keyOffset,
    int window, const int* __restrict__ cuSeqlens, int nSeg, const float* __restrict__ mask,
    const int* __restrict__ ranges) {
    __shared__ __align__(16) float sq[4][256];
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long item = (long long)blockIdx.x * 4 + warp;
    if (item >= (long long)Tq * H) return;
    const int row = (int)(item / H), h = (int)(item % H), kvh = h / (H / KV);
    const float LOG2E = 1.4426950408889634f;
    for (int d = lane; d < D; d += 32) sq[warp][d] = q[(long long)row * ldq + h * D + d] * scale * LOG2E;
    __syncwarp();
    int lo, hi;
    fa_row_range(row, Tq, Tk, causal, keyOffset, window, cuSeqlens, nSeg, ranges, lo, hi);
    float acc[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = 0.f;
    float m = FA_NEG_INF, l = 0.f;
    for (int t0 = lo; t0 < hi; t0 += 32) {
        const int key = t0 + lane;
        float s = FA_NEG_INF;
        if (key < hi) {
            const float* kr = k + (long long)key * ldk + kvh * D;
            float a = 0.f;
            for (int d = 0; d < D; d += 4) {
                float4 kk = *(const float4*)(kr + d);
                float4 qq = *(const float4*)(&sq[warp][d]);
                a += qq.x * kk.x + qq.y * kk.y + qq.z * kk.z + qq.w * kk.w;
            }
            if (mask) a += mask[(long long)row * Tk + key] * LOG2E;
            s = a;
        }
        float mx = s;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, o));
        const float mnew = fmaxf(m, mx), msafe = mnew == FA_NEG_INF ? 0.f : mnew;
        const float alpha = fa_exp2(m - msafe);
        const float p = fa_exp2(s - msafe);
        float ps = p;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) ps += __shfl_xor_sync(0xffffffff, ps, o);
        l = l * alpha + ps;
        m = mnew;
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[i] *= alpha;
        const int n = min(32, hi - t0);
        for (int jj = 0; jj < n; ++jj) {
            const float pj = __shfl_sync(0xffffffff, p, jj);
            const float* vr = v + (long long)(t0 + jj) * ldv + kvh * D;
#pragma unroll
            for (int i = 0; i < 8; ++i)
                if (lane + 32 * i < D) acc[i] += pj * vr[lane + 32 * i];
        }
    }
    const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int i = 0; i < 8; ++i)
        if (lane + 32 * i < D) out[(long long)row * ldo + h * D + lane + 32 * i] = acc[i] * inv;
}
