// 1-D convolutions: direct kernels (one thread per output element; grouped and small ones) and the im2col half of
// the GEMM form (cuBLASLt SGEMM, CUDAKernels+Convolution) for the towers' and BigVGAN's large ones.

/// y [cout, lOut] = conv1d(x [cin, len], w [cout, cin/groups, k]) (+ b [cout]).
extern "C" __global__ void omni_conv1d_f32(const float *x, const float *w, const float *b, float *y, int cin, int len,
                                           int cout, int k, int stride, int padding, int dilation, int groups, int lOut) {
    int cg = cin / groups, og = cout / groups;
    OMNI_GRID_STRIDE(i, (long long)cout * lOut) {
        int co = (int)(i / lOut), l = (int)(i % lOut), g = co / og;
        float s = b ? b[co] : 0.f;
        for (int ci = 0; ci < cg; ci++) {
            const float *xr = x + (long long)(g * cg + ci) * len;
            const float *wr = w + ((long long)co * cg + ci) * k;
            for (int kk = 0; kk < k; kk++) {
                int p = l * stride - padding + kk * dilation;
                if (p >= 0 && p < len) s += wr[kk] * xr[p];
            }
        }
        y[i] = s;
    }
}

/// y [cout, lOut] = convTranspose1d(x [cin, len], w [cin, cout, k]) (+ b [cout]), groups 1.
extern "C" __global__ void omni_conv_transpose1d_f32(const float *x, const float *w, const float *b, float *y, int cin,
                                                     int len, int cout, int k, int stride, int padding, int lOut) {
    OMNI_GRID_STRIDE(i, (long long)cout * lOut) {
        int co = (int)(i / lOut), p = (int)(i % lOut);
        float s = b ? b[co] : 0.f;
        for (int kk = 0; kk < k; kk++) {
            int q = p + padding - kk;
            if (q < 0 || q % stride) continue;
            int t = q / stride;
            if (t >= len) continue;
            for (int ci = 0; ci < cin; ci++) s += x[(long long)ci * len + t] * w[((long long)ci * cout + co) * k + kk];
        }
        y[i] = s;
    }
}

/// The GEMM form of conv1d with groups 1 (y = W [cout, K] · colsᵀ, K = cin·k, then the bias by rows): output
/// positions l0 … l0 + n − 1 unrolled into cols [n, K] (row-major), cols[(l − l0)·K + ci·k + kk] =
/// x[ci, l·stride − padding + kk·dilation], 0 outside x.
extern "C" __global__ void omni_im2col1d_f32(const float *__restrict__ x, float *__restrict__ cols, int cin, int len,
                                             int k, int stride, int padding, int dilation, int l0, int n) {
    long long K = (long long)cin * k;
    OMNI_GRID_STRIDE(i, (long long)n * K) {
        int l = l0 + (int)(i / K), r = (int)(i % K), ci = r / k, kk = r % k;
        int p = l * stride - padding + kk * dilation;
        cols[i] = (p >= 0 && p < len) ? x[(long long)ci * len + p] : 0.f;
    }
}

/// y [rows, cols] += b[row] (a conv1d's bias after its GEMM).
extern "C" __global__ void omni_add_row_bias_f32(float *__restrict__ y, const float *__restrict__ b, int rows, int cols) {
    OMNI_GRID_STRIDE(i, (long long)rows * cols) { y[i] += b[i / cols]; }
}
