// Data movement: strided copies (rows, slice, permute, concat, reshape), pooling, gathers, padding, embeddings.

/// Up to 6 dimensions with element strides of a source and a destination view.
struct omni_view6 {
    long long dims[6];
    long long src[6];
    long long dst[6];
};

/// dst[view] = src[view] for 4-byte elements; `v` describes the rank-dimensional index space (outer dims first).
extern "C" __global__ void omni_copy_strided_b32(const unsigned int *src, unsigned int *dst, long long n, int rank,
                                                 omni_view6 v) {
    OMNI_GRID_STRIDE(i, n) {
        long long r = i, so = 0, dof = 0;
        for (int a = rank - 1; a >= 0; a--) {
            long long k = r % v.dims[a];
            r /= v.dims[a];
            so += k * v.src[a];
            dof += k * v.dst[a];
        }
        dst[dof] = src[so];
    }
}

/// Mean of every `window` rows of x [*, d] → y [rowsOut, d].
extern "C" __global__ void omni_pool_rows_f32(const float *x, float *y, long long rowsOut, int d, int window) {
    OMNI_GRID_STRIDE(i, rowsOut * d) {
        long long r = i / d;
        int c = (int)(i % d);
        float s = 0.f;
        for (int k = 0; k < window; k++) s += x[(r * window + k) * d + c];
        y[i] = s / window;
    }
}

/// y[i] = x[idx[i]] for rows of width d.
extern "C" __global__ void omni_gather_rows_f32(const float *x, const int *idx, float *y, long long rows, int d) {
    OMNI_GRID_STRIDE(i, rows * d) y[i] = x[(long long)idx[i / d] * d + i % d];
}

/// Reflect padding of the last axis of x [C, L] → y [C, left + L + right].
extern "C" __global__ void omni_reflect_pad_f32(const float *x, float *y, int C, int L, int left, int right) {
    int W = left + L + right;
    OMNI_GRID_STRIDE(i, (long long)C * W) {
        long long c = i / W;
        int j = (int)(i % W) - left;
        int s = j < 0 ? -j : (j >= L ? 2 * (L - 1) - j : j);
        y[i] = x[c * L + s];
    }
}

/// Rows of an f32 table [V, d] at ids [T] → y [T, d] (ids checked on the host).
extern "C" __global__ void omni_embedding_f32(const float *table, const long long *ids, float *y, long long T, int d) {
    OMNI_GRID_STRIDE(i, T * d) y[i] = table[ids[i / d] * d + i % d];
}

/// Rows of a bf16 table, widened to f32.
extern "C" __global__ void omni_embedding_bf16(const unsigned short *table, const long long *ids, float *y, long long T, int d) {
    OMNI_GRID_STRIDE(i, T * d) y[i] = omni_bf16_to_f32(table[ids[i / d] * d + i % d]);
}
