// Row-wise reductions: one block per row.

// The decode step runs these on one row: a loop of dependent loads there is one memory latency per element a
// thread owns (14 per thread at d = 3584). With d ≤ NORM_REG · blockDim every element a thread owns is loaded up
// front into registers (all loads in flight at once), then summed in the same order as the loop: the same values,
// bit for bit (7B decode on the H200: 189.9 → 193.2 tokens/s, docs/BENCHMARKS.md "Stop 23"). `regs` = 0 keeps the loop (OMNI_CUDA_NORM_REGS=0, for A/B runs).
#define NORM_REG 16

// Elements j = threadIdx.x + k · blockDim.x (k < NORM_REG) of a row into registers, zeros past d: every load in flight
// at once. Plain loads (no __restrict__): under a dependent launch x is written by the kernel before.
static __device__ __forceinline__ void norm_load(const float *p, int d, float (&v)[NORM_REG]) {
#pragma unroll
    for (int k = 0; k < NORM_REG; ++k) {
        const int j = threadIdx.x + k * blockDim.x;
        v[k] = j < d ? p[j] : 0.f;
    }
}

/// RMSNorm of x [rows, d] with weight [d]: y = x / sqrt(mean(x²) + eps) · w. y may alias x.
extern "C" __global__ void omni_rms_norm_f32(const float *x, const float *w, float *y, int d, float eps, int regs) {
    omni_pdl_trigger();
    const float *xr = x + (long long)blockIdx.x * d;
    float *yr = y + (long long)blockIdx.x * d;
    float s = 0.f;
    if (regs && d <= NORM_REG * (int)blockDim.x) {
        float xv[NORM_REG], wv[NORM_REG];
        norm_load(w, d, wv);
        omni_pdl_wait();  // w is a weight; x comes from the kernel before
        norm_load(xr, d, xv);
#pragma unroll
        for (int k = 0; k < NORM_REG; ++k)
            if (threadIdx.x + k * blockDim.x < d) s += xv[k] * xv[k];
        const float inv = rsqrtf(omni_block_sum(s) / d + eps);
#pragma unroll
        for (int k = 0; k < NORM_REG; ++k) {
            const int j = threadIdx.x + k * blockDim.x;
            if (j < d) yr[j] = xv[k] * inv * wv[k];
        }
        return;
    }
    omni_pdl_wait();
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += xr[j] * xr[j];
    float inv = rsqrtf(omni_block_sum(s) / d + eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x) yr[j] = xr[j] * inv * w[j];
}

/// LayerNorm of x [rows, d] (biased variance); w and b may be null.
extern "C" __global__ void omni_layer_norm_f32(const float *x, const float *w, const float *b, float *y, int d, float eps) {
    const float *xr = x + (long long)blockIdx.x * d;
    float *yr = y + (long long)blockIdx.x * d;
    float s = 0.f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += xr[j];
    float mean = omni_block_sum(s) / d;
    float v = 0.f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) { float c = xr[j] - mean; v += c * c; }
    float inv = rsqrtf(omni_block_sum(v) / d + eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float o = (xr[j] - mean) * inv;
        if (w) o *= w[j];
        if (b) o += b[j];
        yr[j] = o;
    }
}

/// Softmax over the last axis of x [rows, d], max-subtracted.
extern "C" __global__ void omni_softmax_f32(const float *x, float *y, int d) {
    const float *xr = x + (long long)blockIdx.x * d;
    float *yr = y + (long long)blockIdx.x * d;
    float m = OMNI_NEG_INF;
    for (int j = threadIdx.x; j < d; j += blockDim.x) m = fmaxf(m, xr[j]);
    m = omni_block_max(m);
    float s = 0.f;
    for (int j = threadIdx.x; j < d; j += blockDim.x) s += expf(xr[j] - m);
    float inv = 1.f / omni_block_sum(s);
    for (int j = threadIdx.x; j < d; j += blockDim.x) yr[j] = expf(xr[j] - m) * inv;
}

/// A residual add and the RMSNorm that reads it, in one launch (the decode step's add → norm pairs):
/// s = a + b (written: later nodes read it), y = s / sqrt(mean(s²) + eps) · w, one block per row, the same arithmetic
/// in the same order as omni_add_f32 then omni_rms_norm_f32. y may alias a or b (the block reads them before the
/// reduction and writes y after it).
extern "C" __global__ void omni_add_rms_norm_f32(const float *a, const float *b, float *s, const float *w, float *y,
                                                 int d, float eps, int regs) {
    omni_pdl_trigger();
    const long long row = (long long)blockIdx.x * d;
    float q = 0.f;
    if (regs && d <= NORM_REG * (int)blockDim.x) {
        float sv[NORM_REG], wv[NORM_REG];
        norm_load(w, d, wv);
        omni_pdl_wait();
#pragma unroll
        for (int k = 0; k < NORM_REG; ++k) {
            const int j = threadIdx.x + k * blockDim.x;
            sv[k] = j < d ? a[row + j] + b[row + j] : 0.f;
        }
#pragma unroll
        for (int k = 0; k < NORM_REG; ++k) {
            const int j = threadIdx.x + k * blockDim.x;
            if (j < d) {
                s[row + j] = sv[k];
                q += sv[k] * sv[k];
            }
        }
        const float inv = rsqrtf(omni_block_sum(q) / d + eps);
#pragma unroll
        for (int k = 0; k < NORM_REG; ++k) {
            const int j = threadIdx.x + k * blockDim.x;
            if (j < d) y[row + j] = sv[k] * inv * wv[k];
        }
        return;
    }
    omni_pdl_wait();
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        float v = a[row + j] + b[row + j];
        s[row + j] = v;
        q += v * v;
    }
    float inv = rsqrtf(omni_block_sum(q) / d + eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x) y[row + j] = s[row + j] * inv * w[j];
}
