// Elementwise kernels over f32 (grid-stride loops; one launch covers any n).

/// y = a + b, b broadcast with period bn (bn == n: same shape; bn == D: a row added to every row).
extern "C" __global__ void omni_add_f32(const float *a, const float *b, float *y, long long n, long long bn) {
    OMNI_GRID_STRIDE(i, n) y[i] = a[i] + b[i % bn];
}

/// y = a ⊙ b, broadcast as omni_add_f32.
extern "C" __global__ void omni_mul_f32(const float *a, const float *b, float *y, long long n, long long bn) {
    OMNI_GRID_STRIDE(i, n) y[i] = a[i] * b[i % bn];
}

/// y = x · f.
extern "C" __global__ void omni_scale_f32(const float *x, float *y, long long n, float f) {
    OMNI_GRID_STRIDE(i, n) y[i] = x[i] * f;
}

/// y = x · sigmoid(x).
extern "C" __global__ void omni_silu_f32(const float *x, float *y, long long n) {
    OMNI_GRID_STRIDE(i, n) { float v = x[i]; y[i] = v / (1.f + expf(-v)); }
}

/// y = silu(g) ⊙ u.
extern "C" __global__ void omni_swiglu_f32(const float *g, const float *u, float *y, long long n) {
    OMNI_GRID_STRIDE(i, n) { float v = g[i]; y[i] = v / (1.f + expf(-v)) * u[i]; }
}

/// omni_swiglu_f32 then omni_cast_f32_bf16 in one pass (the down projection's GEMM input in the bf16 mode): the same
/// f32 value, rounded to bf16 as the cast rounds it.
extern "C" __global__ void omni_swiglu_bf16(const float *g, const float *u, unsigned short *y, long long n) {
    OMNI_GRID_STRIDE(i, n) { float v = g[i]; y[i] = omni_f32_to_bf16(v / (1.f + expf(-v)) * u[i]); }
}

/// SwiGLU over bf16 gate and up (a GEMM's bf16 outputs) with optional f32 biases (per column, `cols` a row) added
/// first, in f32, rounded to bf16: the down projection's GEMM input when the whole MLP keeps bf16 intermediates.
extern "C" __global__ void omni_swiglu_bf16_bf16(const unsigned short *g, const unsigned short *u, const float *bg,
                                                 const float *bu, unsigned short *y, long long n, long long cols) {
    OMNI_GRID_STRIDE(i, n) {
        float v = omni_bf16_to_f32(g[i]), w = omni_bf16_to_f32(u[i]);
        if (bg) v += bg[i % cols];
        if (bu) w += bu[i % cols];
        y[i] = omni_f32_to_bf16(v / (1.f + expf(-v)) * w);
    }
}

/// GELU: exact (erf) or, with tanhApprox, the tanh approximation.
extern "C" __global__ void omni_gelu_f32(const float *x, float *y, long long n, int tanhApprox) {
    OMNI_GRID_STRIDE(i, n) {
        float v = x[i];
        if (tanhApprox) y[i] = 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        else y[i] = 0.5f * v * (1.f + erff(v * 0.7071067811865476f));
    }
}

/// kind 0 relu, 1 sigmoid, 2 tanh, 3 sqrt(max(x, floor)).
extern "C" __global__ void omni_unary_f32(const float *x, float *y, long long n, int kind, float floor) {
    OMNI_GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = kind == 0 ? fmaxf(v, 0.f) : kind == 1 ? 1.f / (1.f + expf(-v)) : kind == 2 ? tanhf(v) : sqrtf(fmaxf(v, floor));
    }
}

/// bf16 copy of f32 x (the activations of a bf16 GEMM).
extern "C" __global__ void omni_cast_f32_bf16(const float *x, unsigned short *y, long long n) {
    OMNI_GRID_STRIDE(i, n) y[i] = omni_f32_to_bf16(x[i]);
}

/// y = f32(x) for bf16 x (a bf16 KV cache's rows for a kernel that reads f32).
extern "C" __global__ void omni_cast_bf16_f32(const unsigned short *x, float *y, long long n) {
    OMNI_GRID_STRIDE(i, n) y[i] = omni_bf16_to_f32(x[i]);
}
