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
extern "C" __global__ void omni_rope2_f32(const float *x1, float *y1, int h1, const float *x2, float *y2, int h2,
                                          const long long *pos, const float *inv, const int *rowOf, int T, int hd,
                                          int interleaved) {
    omni_pdl_trigger();
    omni_pdl_wait();
    int half = hd / 2, heads = h1 + h2;
    long long n = (long long)T * heads * half;
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
        y[base + ia] = a * c - b * s;
        y[base + ib] = b * c + a * s;
    }
}
