// decode_attention.cu: split-K attention (flash-decoding) for a few query rows over a long KV cache, f32 or bf16.
//
// No #include (NVRTC, sm_80 and newer). All f32 CUDA-core arithmetic: decode attention is bound by reading
// the cache; a bf16 cache (the bf16 compute mode) halves those bytes and is widened as it is read.
//
// Layout: q [Tq, ldq] f32 (element (i, h, d) at q[i*ldq + h*D + d]); k, v [Tk, ldk / ldv] f32 (element
// (t, kvh, d) at k[t*ldk + kvh*D + d]); out [Tq, ldo] like q. Query head h reads KV head h / (H / KV); one
// block serves all G = H / KV query heads of a KV head and all Tq rows, so each cache row is read once.
//
// Entry points
//   omni_attn_decode_split_d64 / _d80 / _d128(const float* q, int ldq, const float* k, int ldk, const float* v,
//        int ldv, float* part, int Tq, int Tk, int H, int KV, int causal, int keyOffset, int window,
//        float scale, int chunk, const int* lens, int slot, int delta)
//   omni_attn_decode_split_d64_bf16 / _d80_bf16 / _d128_bf16: the same over bf16 k and v (const unsigned short*;
//        ldk, ldv multiples of 4).
//       With lens non-null (a decode step replayed as a CUDA graph): Tk = lens[slot] + delta and
//       keyOffset = Tk − Tq are read on the device, the grid covers the most keys the graph serves, and a
//       block past Tk writes an empty part (max −∞, sum 0).
//       Grid KV * nSplit (one dimension; nSplit = ceil(Tk / chunk)); block 128; dynamic shared memory 4 * R * (D + chunk) bytes with
//       R = (H / KV) * Tq ≤ 32. Query i sits at absolute position keyOffset + i; causal drops keys
//       j > keyOffset + i; window > 0 drops keys with (keyOffset + i) − j ≥ window.
//       Writes part[(split * H * Tq + h * Tq + i) * (D + 2) + …]: the unnormalised output (D floats), the
//       running max (log2 domain) and the sum of exponentials. With counters non-null (KV ints, zero between
//       launches), the last block of each KV head to finish (an atomic count) also combines that head group's rows
//       into out[i*ldo + h*D + d] exactly as omni_attn_decode_combine does, and sets its counter back to zero: one
//       launch instead of two. Trailing parameters (…, float* out, int ldo, int* counters).
//   omni_attn_decode_combine(const float* part, float* out, int ldo, int Tq, int H, int D, int nSplit)
//       Grid (H * Tq); block 128 (its first warp combines the row). out[i*ldo + h*D + d] = Σ_s 2^(m_s − M) o_s[d] / Σ_s 2^(m_s − M) l_s;
//       a row that saw no key gets zeros.

#define DA_NEG_INF __int_as_float(0xff800000)
#define DA_MAXR 32

static __device__ __forceinline__ float da_exp2(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

/// One output row (h, i) (row = h * Tq + i) from the split parts, by one warp: out[i*ldo + h*D + d] =
/// Σ_s 2^(m_s − M) o_s[d] / Σ_s 2^(m_s − M) l_s, zeros for a row that saw no key. The lanes load 32 splits' maxima
/// and sums at once, and lane ℓ owns columns d ≡ ℓ (mod 32), so every pass waits for memory once per split or per 32
/// splits instead of once per split and column; the sums still run over s in order, as one thread's loop would (the
/// same arithmetic in the same order as the block-wide version this replaced, which waited on memory once per split
/// per pass and, in the fused last block, took the rows one after another: the whole decode attention of a 7B layer
/// went from 29.5 to 22.8 µs on the H200). `coherent`: read the parts past L1 (written by other blocks of the same
/// launch).
static __device__ __forceinline__ float da_load(const float* p, bool coherent) { return coherent ? __ldcg(p) : *p; }
static __device__ __forceinline__ void da_combine_row(const float* part, float* __restrict__ out, int ldo,
                                                      int Tq, int H, int D, int nSplit, int row, bool coherent) {
    const int lane = threadIdx.x & 31;
    const int h = row / Tq, i = row % Tq;
    const long long stride = (long long)H * Tq * (D + 2);
    const float* p0 = part + (long long)row * (D + 2);
    float M = DA_NEG_INF;
    for (int s = lane; s < nSplit; s += 32) M = fmaxf(M, da_load(p0 + s * stride + D, coherent));
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffff, M, o));
    const float msafe = M == DA_NEG_INF ? 0.f : M;
    float L = 0.f;
    for (int s0 = 0; s0 < nSplit; s0 += 32) {
        const int s = s0 + lane;
        const float w = s < nSplit ? da_exp2(da_load(p0 + s * stride + D, coherent) - msafe) : 0.f;
        const float l = s < nSplit ? da_load(p0 + s * stride + D + 1, coherent) : 0.f;
        const int n = min(32, nSplit - s0);
        for (int j = 0; j < n; ++j) L += __shfl_sync(0xffffffff, w, j) * __shfl_sync(0xffffffff, l, j);
    }
    const float inv = L > 0.f ? 1.f / L : 0.f;
    for (int d0 = 0; d0 < D; d0 += 128) {
        float acc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll 4
        for (int s = 0; s < nSplit; ++s) {
            const float* ps = p0 + s * stride;
            const float w = da_exp2(da_load(ps + D, coherent) - msafe);
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                const int d = d0 + lane + 32 * c;
                if (d < D) acc[c] += w * da_load(ps + d, coherent);
            }
        }
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int d = d0 + lane + 32 * c;
            if (d < D) out[(long long)i * ldo + h * D + d] = acc[c] * inv;
        }
    }
}

/// Reads of the cache's element type as f32: four consecutive elements, or one.
template <typename T> struct DaKV;
template <> struct DaKV<float> {
    static __device__ __forceinline__ float4 load4(const float* p) { return *(const float4*)p; }
    static __device__ __forceinline__ float load1(const float* p) { return *p; }
};
template <> struct DaKV<unsigned short> {
    static __device__ __forceinline__ float4 load4(const unsigned short* p) {
        const uint2 u = *(const uint2*)p;  // little-endian: element 0 in the low half of u.x
        return make_float4(__uint_as_float(u.x << 16), __uint_as_float(u.x & 0xffff0000u),
                           __uint_as_float(u.y << 16), __uint_as_float(u.y & 0xffff0000u));
    }
    static __device__ __forceinline__ float load1(const unsigned short* p) { return omni_bf16_to_f32(*p); }
};

template <int D, typename T>
static __device__ __forceinline__ void decode_split(const float* q, int ldq, const T* k,
                                                    int ldk, const T* v, int ldv,
                                                    float* __restrict__ part, int Tq, int Tk, int H, int KV,
                                                    int causal, int off, int window, float scale, int chunk,
                                                    const int* __restrict__ lens, int slot, int delta,
                                                    float* __restrict__ out, int ldo, int* __restrict__ counters) {
    omni_pdl_trigger();
    omni_pdl_wait();
    if (lens) {
        Tk = lens[slot] + delta;
        off = Tk - Tq;
    }
    constexpr int NV = D / 16;  // float4 per lane per key (4 lanes a key)
    extern __shared__ __align__(16) float da_smem[];
    const int G = H / KV, R = G * Tq;
    float* sq = da_smem;          // [R][D]
    float* ss = sq + R * D;       // [R][chunk]
    const int kvh = blockIdx.x % KV, split = blockIdx.x / KV;
    const int k0 = split * chunk, n = min(Tk, k0 + chunk) - k0;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, sub = lane & 3, kl = lane >> 2;
    const float qs = scale * 1.4426950408889634f;

    for (int x = tid; x < R * D; x += blockDim.x) {
        int r = x / D, d = x % D;
        int gh = r / Tq, i = r % Tq;
        sq[x] = q[(long long)i * ldq + (kvh * G + gh) * D + d] * qs;
    }
    __syncthreads();

    // Scores: 4 lanes per key, 8 keys per warp step.
    for (int base = warp * 8; base < n; base += 32) {
        const int key = base + kl;
        const bool in = key < n;
        const T* kr = k + (long long)(k0 + (in ? key : 0)) * ldk + kvh * D;
        float4 kv[NV];
#pragma unroll
        for (int c = 0; c < NV; ++c) kv[c] = DaKV<T>::load4(kr + sub * 4 + 16 * c);
        for (int r = 0; r < R; ++r) {
            const float* qr = sq + r * D + sub * 4;
            float acc = 0.f;
#pragma unroll
            for (int c = 0; c < NV; ++c) {
                float4 a = *(const float4*)(qr + 16 * c);
                acc += a.x * kv[c].x + a.y * kv[c].y + a.z * kv[c].z + a.w * kv[c].w;
            }
            acc += __shfl_xor_sync(0xffffffff, acc, 1);
            acc += __shfl_xor_sync(0xffffffff, acc, 2);
            if (in && sub == 0) {
                int pos = off + r % Tq, j = k0 + key;
                bool ok = (!causal || j <= pos) && (window <= 0 || pos - j < window);
                ss[r * chunk + key] = ok ? acc : DA_NEG_INF;
            }
        }
    }
    __syncthreads();

    // Per row: max and sum over the chunk; scores become probabilities in place.
    for (int r = warp; r < R; r += blockDim.x / 32) {
        float* sr = ss + r * chunk;
        float m = DA_NEG_INF;
        for (int j = lane; j < n; j += 32) m = fmaxf(m, sr[j]);
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
        const float msafe = m == DA_NEG_INF ? 0.f : m;
        float l = 0.f;
        for (int j = lane; j < n; j += 32) {
            float p = da_exp2(sr[j] - msafe);
            sr[j] = p;
            l += p;
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffff, l, o);
        if (lane == 0) {
            int gh = r / Tq, i = r % Tq, h = kvh * G + gh;
            float* pr = part + ((long long)split * H * Tq + h * Tq + i) * (D + 2);
            pr[D] = m;
            pr[D + 1] = l;
        }
    }
    __syncthreads();

    if (R <= 8) {
        // O = P · V for up to 8 rows (decode: G query heads, one row each): threads split into key groups of
        // D/4 lanes, each lane one float4 column, two keys in flight; groups meet in shared memory (sq, free now).
        constexpr int C4 = D / 4;
        const int groupsN = blockDim.x / C4, grp = tid / C4, c4 = tid % C4;
        for (int x = tid; x < R * D; x += blockDim.x) sq[x] = 0.f;
        __syncthreads();
        if (grp < groupsN) {
            float4 acc[8];
#pragma unroll
            for (int r = 0; r < 8; ++r) acc[r] = make_float4(0.f, 0.f, 0.f, 0.f);
            const T* vc = v + (long long)k0 * ldv + kvh * D + c4 * 4;
            int j = grp;
            for (; j + groupsN < n; j += 2 * groupsN) {
                float4 v0 = DaKV<T>::load4(vc + (long long)j * ldv);
                float4 v1 = DaKV<T>::load4(vc + (long long)(j + groupsN) * ldv);
#pragma unroll
                for (int r = 0; r < 8; ++r) {
                    if (r < R) {
                        float p0 = ss[r * chunk + j], p1 = ss[r * chunk + j + groupsN];
                        acc[r].x += p0 * v0.x + p1 * v1.x;
                        acc[r].y += p0 * v0.y + p1 * v1.y;
                        acc[r].z += p0 * v0.z + p1 * v1.z;
                        acc[r].w += p0 * v0.w + p1 * v1.w;
                    }
                }
            }
            if (j < n) {
                float4 v0 = DaKV<T>::load4(vc + (long long)j * ldv);
#pragma unroll
                for (int r = 0; r < 8; ++r) {
                    if (r < R) {
                        float p0 = ss[r * chunk + j];
                        acc[r].x += p0 * v0.x; acc[r].y += p0 * v0.y; acc[r].z += p0 * v0.z; acc[r].w += p0 * v0.w;
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < 8; ++r) {
                if (r < R) {
                    float* dst = sq + r * D + c4 * 4;
                    atomicAdd(dst, acc[r].x); atomicAdd(dst + 1, acc[r].y);
                    atomicAdd(dst + 2, acc[r].z); atomicAdd(dst + 3, acc[r].w);
                }
            }
        }
        __syncthreads();
        for (int x = tid; x < R * D; x += blockDim.x) {
            int r = x / D, d = x % D, gh = r / Tq, i = r % Tq, h = kvh * G + gh;
            part[((long long)split * H * Tq + h * Tq + i) * (D + 2) + d] = sq[x];
        }
    } else {
        // O = P · V, more than 8 rows: thread d, all rows in registers.
        for (int d = tid; d < D; d += blockDim.x) {
            float acc[DA_MAXR];
#pragma unroll
            for (int r = 0; r < DA_MAXR; ++r) acc[r] = 0.f;
            const T* vc = v + (long long)k0 * ldv + kvh * D + d;
            int j = 0;
            for (; j + 4 <= n; j += 4) {
                float v0 = DaKV<T>::load1(vc + (long long)j * ldv), v1 = DaKV<T>::load1(vc + (long long)(j + 1) * ldv);
                float v2 = DaKV<T>::load1(vc + (long long)(j + 2) * ldv), v3 = DaKV<T>::load1(vc + (long long)(j + 3) * ldv);
#pragma unroll
                for (int r = 0; r < DA_MAXR; ++r) {
                    if (r < R) {
                        const float* p = ss + r * chunk + j;
                        acc[r] += p[0] * v0 + p[1] * v1 + p[2] * v2 + p[3] * v3;
                    }
                }
            }
            for (; j < n; ++j) {
                float v0 = DaKV<T>::load1(vc + (long long)j * ldv);
#pragma unroll
                for (int r = 0; r < DA_MAXR; ++r)
                    if (r < R) acc[r] += ss[r * chunk + j] * v0;
            }
#pragma unroll
            for (int r = 0; r < DA_MAXR; ++r) {
                if (r < R) {
                    int gh = r / Tq, i = r % Tq, h = kvh * G + gh;
                    part[((long long)split * H * Tq + h * Tq + i) * (D + 2) + d] = acc[r];
                }
            }
        }
    }

    // The last block of this KV head combines its rows (all parts written: fenced, then counted).
    if (counters) {
        __shared__ int da_last;
        __threadfence();
        __syncthreads();
        if (tid == 0) da_last = atomicAdd(counters + kvh, 1) == (int)(gridDim.x / KV) - 1;
        __syncthreads();
        if (da_last) {
            __threadfence();
            // One row a warp (the block's warps take the head group's rows in turn).
            for (int r = warp; r < R; r += blockDim.x / 32) {
                const int gh = r / Tq, i = r % Tq;
                da_combine_row(part, out, ldo, Tq, H, D, (int)(gridDim.x / KV), (kvh * G + gh) * Tq + i, true);
            }
            if (tid == 0) counters[kvh] = 0;
        }
    }
}

#define DA_PARAMS(T)                                                                                     \
    const float *q, int ldq, const T *k, int ldk, const T *v, int ldv, float *part, int Tq, int Tk, int H, \
        int KV, int causal, int keyOffset, int window, float scale, int chunk, const int *lens, int slot, int delta, \
        float *out, int ldo, int *counters
#define DA_ARGS q, ldq, k, ldk, v, ldv, part, Tq, Tk, H, KV, causal, keyOffset, window, scale, chunk, lens, slot, delta, \
        out, ldo, counters
#define DA_ENTRY(D)                                                                                            \
    extern "C" __global__ void __launch_bounds__(128) omni_attn_decode_split_d##D(DA_PARAMS(float)) {          \
        decode_split<D, float>(DA_ARGS);                                                                       \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(128) omni_attn_decode_split_d##D##_bf16(DA_PARAMS(unsigned short)) { \
        decode_split<D, unsigned short>(DA_ARGS);                                                              \
    }

DA_ENTRY(64)
DA_ENTRY(80)
DA_ENTRY(128)

extern "C" __global__ void __launch_bounds__(128) omni_attn_decode_combine(const float* part,
                                                                      float* __restrict__ out, int ldo, int Tq,
                                                                      int H, int D, int nSplit) {
    omni_pdl_trigger();
    omni_pdl_wait();
    if (threadIdx.x < 32) da_combine_row(part, out, ldo, Tq, H, D, nSplit, blockIdx.x, false);
}
