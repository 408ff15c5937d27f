// Rotary embeddings. The executor computes, per (headDim, θ, kind), inv[j] (the frequency of pair j, in f32 as the
// CPU does) and rowOf[j] (which row of the positions tensor drives pair j) once and keeps them on the device.

/// x, y [T, heads·hd]; pos i64 [posRows, T]; pair j of head h: (j, j + hd/2) half-split, or (2j, 2j+1) interleaved.
extern "C" __global__ void omni_rope_f32(const float *x, const long long *pos, const float *inv, const int *rowOf,
                                         float *y, int T, int heads, int hd, int interleaved) {
    omni_pdl_trigger();
    omni_pdl_wait();
    int half = hd / 2;
    long long n = (long long)T * heads * half;
    OMNI_GRID_STRIDE(i, n) {
        int j = (int)(i % half);
        long long th = i / half;
        int h = (int)(th % heads), t = (int)(th / heads);
        float angle = (float)pos[(long long)rowOf[j] * T + t] * inv[j];
        float c = cosf(angle), s = sinf(angle);
        int ia = interleaved ? 2 * j : j, ib = interleaved ? ia + 1 : j + half;
        long long base = (long long)t * heads * hd + (long long)h * hd;
        float a = x[base + ia], b = x[base + ib];
        y[base + ia] = a * c - b * s;
        y[base + ib] = b * c + a * s;
    }
}

/// Two rotary embeddings at the same positions in one launch (the decode step's q and k): heads [0, h1) of x1 → y1,
/// then heads [0, h2) of x2 → y2, each element computed as omni_rope_f32 computes it.
///   omni_rope2_f32(x1, y1, h1, x2, y2, h2, pos, inv, rowOf, T, hd, interleaved)   Grid-stride.
/// The same with the decode step's cache write: the rotated k (y2's values) and v [T, h2·hd] also stored into the
/// cache rows from lens[slot] + delta on, as omni_cache_write_dyn (f32 K, V) or omni_cache_write_dyn_bf16 (bf16,
/// rounded to nearest even) store them.
///   omni_rope2_cache_dyn / omni_rope2_cache_dyn_bf16(x1, y1, h1, x2, y2, h2, pos, inv, rowOf, T, hd, interleaved,
///        const float* v, K, V, const int* lens, int slot, int delta)   Grid-stride.
static __device__ __forceinline__ void rc_store(float *p, float v) { *p = v; }
static __device__ __forceinline__ void rc_store(unsigned short *p, float v) { *p = omni_f32_to_bf16(v); }

template <typename C>
static __device__ __forceinline__ void rope2_cache(const float *x1, float *y1, int h1, const float *x2, float *y2, int h2,
                                                   const long long *pos, const float *inv, const int *rowOf, int T,
                                                   int hd, int interleaved, const float *v, C *K, C *V,
                                                   const int *lens, int slot, int delta) {
    omni_pdl_trigger();
    omni_pdl_wait();
    const int half = hd / 2, heads = h1 + h2, width = h2 * hd;
    const long long start = K ? (long long)(lens[slot] + delta) * width : 0;
    const long long n = (long long)T * heads * half;
    OMNI_GRID_STRIDE(i, n) {
        int j = (int)(i % half);
        long long th = i / half;
        int hh = (int)(th % heads), t = (int)(th / heads);
        const bool first = hh < h1;
        const float *x = first ? x1 : x2;
        float *y = first ? y1 : y2;
        int hn = first ? h1 : h2, h = first ? hh : hh - h1;
        float angle = (float)pos[(long long)rowOf[j] * T + t] * inv[j];
        float c = cosf(angle), s = sinf(angle);
        int ia = interleaved ? 2 * j : j, ib = interleaved ? ia + 1 : j + half;
        long long base = (long long)t * hn * hd + (long long)h * hd;
        float a = x[base + ia], b = x[base + ib];
        const float ra = a * c - b * s, rb = b * c + a * s;
        y[base + ia] = ra;
        y[base + ib] = rb;
        if (K && !first) {
            rc_store(K + start + base + ia, ra);
            rc_store(K + start + base + ib, rb);
        }
    }
    if (!K) return;
    const long long nv = (long long)T * width;
    OMNI_GRID_STRIDE(i, nv) rc_store(V + start + i, v[i]);
}

extern "C" __global__ void omni_rope2_f32(const float *x1, float *y1, int h1, const float *x2, float *y2, int h2,
                                          const long long *pos, const float *inv, const int *rowOf, int T, int hd,
                                          int interleaved) {
    rope2_cache<float>(x1, y1, h1, x2, y2, h2, pos, inv, rowOf, T, hd, interleaved, nullptr, nullptr, nullptr, nullptr, 0, 0);
}

extern "C" __global__ void omni_rope2_cache_dyn(const float *x1, float *y1, int h1, const float *x2, float *y2, int h2,
                                                const long long *pos, const float *inv, const int *rowOf, int T, int hd,
                                                int interleaved, const float *v, float *K, float *V, const int *lens,
                                                int slot, int delta) {
    rope2_cache<float>(x1, y1, h1, x2, y2, h2, pos, inv, rowOf, T, hd, interleaved, v, K, V, lens, slot, delta);
}
extern "C" __global__ void omni_rope2_cache_dyn_bf16(const float *x1, float *y1, int h1, const float *x2, float *y2,
                                                     int h2, const long long *pos, const float *inv, const int *rowOf,
                                                     int T, int hd, int interleaved, const float *v, unsigned short *K,
                                                     unsigned short *V, const int *lens, int slot, int delta) {
    rope2_cache<unsigned short>(x1, y1, h1, x2, y2, h2, pos, inv, rowOf, T, hd, interleaved, v, K, V, lens, slot, delta);
}
