// Direct 1-D convolutions (one thread per output element): simple and exact; the towers' and BigVGAN's shapes.

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
