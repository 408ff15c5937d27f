// Eager attention on the GPU (the CUDA side of the "eager" backend, the oracle): scores materialized in the scratch
// the executor allocates, S = scale · Q·Kᵀ (+ explicit mask), softmax over each query's visible key range, O = P·V.
// ranges[2i], ranges[2i+1]: the keys query i may see (causal with key offset, window and segments all reduce to a
// range; the host computes them). GQA: query head h reads KV head h / (heads / kvHeads).

/// scores [heads, qLen, kvLen].
extern "C" __global__ void omni_attn_scores_f32(const float *q, const float *k, const float *mask, const int *ranges,
                                                float *scores, int qLen, int kvLen, int heads, int kvHeads, int hd,
                                                long long qStride, long long kStride, float scale) {
    long long n = (long long)heads * qLen * kvLen;
    int group = heads / kvHeads;
    OMNI_GRID_STRIDE(idx, n) {
        int j = (int)(idx % kvLen);
        long long hi = idx / kvLen;
        int i = (int)(hi % qLen), h = (int)(hi / qLen);
        float s = OMNI_NEG_INF;
        if (j >= ranges[2 * i] && j < ranges[2 * i + 1]) {
            const float *qr = q + i * qStride + (long long)h * hd;
            const float *kr = k + j * kStride + (long long)(h / group) * hd;
            float acc = 0.f;
            for (int d = 0; d < hd; d++) acc += qr[d] * kr[d];
            s = acc * scale;
            if (mask) s += mask[(long long)i * kvLen + j];
        }
        scores[idx] = s;
    }
}

/// Softmax of each score row over its range; rows whose range is empty or all −∞ become zeros. One block per row.
extern "C" __global__ void omni_attn_softmax_f32(float *scores, const int *ranges, int qLen, int kvLen) {
    float *row = scores + (long long)blockIdx.x * kvLen;
    int i = blockIdx.x % qLen;
    int lo = ranges[2 * i], hi = ranges[2 * i + 1];
    float m = OMNI_NEG_INF;
    for (int j = lo + threadIdx.x; j < hi; j += blockDim.x) m = fmaxf(m, row[j]);
    m = omni_block_max(m);
    float s = 0.f;
    if (m != OMNI_NEG_INF) for (int j = lo + threadIdx.x; j < hi; j += blockDim.x) s += expf(row[j] - m);
    s = omni_block_sum(s);
    float inv = s > 0.f ? 1.f / s : 0.f;
    for (int j = threadIdx.x; j < kvLen; j += blockDim.x)
        row[j] = (j >= lo && j < hi && m != OMNI_NEG_INF) ? expf(row[j] - m) * inv : 0.f;
}

/// out [qLen, heads·hd] (row stride oStride) = P · V.
extern "C" __global__ void omni_attn_pv_f32(const float *scores, const float *v, const int *ranges, float *out,
                                            int qLen, int kvLen, int heads, int kvHeads, int hd, long long vStride,
                                            long long oStride) {
    long long n = (long long)heads * qLen * hd;
    int group = heads / kvHeads;
    OMNI_GRID_STRIDE(idx, n) {
        int d = (int)(idx % hd);
        long long r = idx / hd;
        int h = (int)(r % heads), i = (int)(r / heads);
        const float *p = scores + ((long long)h * qLen + i) * kvLen;
        const float *vc = v + (long long)(h / group) * hd + d;
        float acc = 0.f;
        for (int j = ranges[2 * i]; j < ranges[2 * i + 1]; j++) acc += p[j] * vc[j * vStride];
        out[i * oStride + (long long)h * hd + d] = acc;
    }
}
