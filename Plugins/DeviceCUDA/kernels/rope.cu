// Rotary embeddings. The executor computes, per (headDim, θ, kind), inv[j] (the frequency of pair j, in f32 as the
// CPU does) and rowOf[j] (which row of the positions tensor drives pair j) once and keeps them on the device.

/// x, y [T, heads·hd]; pos i64 [posRows, T]; pair j of head h: (j, j + hd/2) half-split, or (2j, 2j+1) interleaved.
extern "C" __global__ void omni_rope_f32(const float *x, const long long *pos, const float *inv, const int *rowOf,
                                         float *y, int T, int heads, int hd, int interleaved) {
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
