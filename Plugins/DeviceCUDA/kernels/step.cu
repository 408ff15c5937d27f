// step.cu: the decode step's per-token values read on the device, so that one captured CUDA graph serves every
// token. The host uploads each cache slot's committed length once per step (`lens`, int32 per slot); a node that
// needs "how many keys" or "where to write" reads lens[slot] + delta, where delta (rows the same run appended to
// that slot before the node) is the same every step.
//
// Entry points
//   omni_cache_write_dyn(const float* k, const float* v, float* K, float* V, int rows, int width, const int* lens,
//        int slot, int delta)
//       K[(lens[slot] + delta + r) * width + c] = k[r * width + c] (and V from v) for r < rows, c < width.
//       Grid-stride.
//   omni_cache_write_dyn_bf16: the same into a bf16 cache (unsigned short* K, V), rounded to nearest even.
//   omni_cache_write_bf16(const float* k, const float* v, unsigned short* K, unsigned short* V, long long n)
//       K[i] = bf16(k[i]), V[i] = bf16(v[i]) for i < n (K, V already offset to the first row written): a prefill
//       chunk's rows into a bf16 cache outside step mode. Grid-stride.
//   omni_attn_ranges_dyn(int* ranges, int rows, const int* lens, int slot, int delta, int causal, int window)
//       Each query's visible key range after the write: keys = lens[slot] + delta, query i at position
//       keys − rows + i; causal stops at the position, window > 0 starts at position − window + 1.
//       One block of ≥ rows threads.
//   omni_q8_0_to_bf16(const signed char* qs, const unsigned short* d, unsigned short* out, long long n)
//       Widens repacked Q8_0 (gemv.cu's layout) to bf16 row-major, n elements (a multiple of 32): the GEMM
//       path (prefill) of a Q8_0-resident weight. Grid-stride.

extern "C" __global__ void omni_cache_write_dyn(const float* k, const float* v,
                                                float* __restrict__ K, float* __restrict__ V, int rows, int width,
                                                const int* __restrict__ lens, int slot, int delta) {
    omni_pdl_trigger();
    omni_pdl_wait();
    const long long start = (long long)(lens[slot] + delta) * width;
    const long long n = (long long)rows * width;
    OMNI_GRID_STRIDE(i, n) {
        K[start + i] = k[i];
        V[start + i] = v[i];
    }
}

extern "C" __global__ void omni_cache_write_dyn_bf16(const float* k, const float* v,
                                                     unsigned short* __restrict__ K, unsigned short* __restrict__ V,
                                                     int rows, int width, const int* __restrict__ lens, int slot,
                                                     int delta) {
    omni_pdl_trigger();
    omni_pdl_wait();
    const long long start = (long long)(lens[slot] + delta) * width;
    const long long n = (long long)rows * width;
    OMNI_GRID_STRIDE(i, n) {
        K[start + i] = omni_f32_to_bf16(k[i]);
        V[start + i] = omni_f32_to_bf16(v[i]);
    }
}

extern "C" __global__ void omni_cache_write_bf16(const float* __restrict__ k, const float* __restrict__ v,
                                                 unsigned short* __restrict__ K, unsigned short* __restrict__ V,
                                                 long long n) {
    OMNI_GRID_STRIDE(i, n) {
        K[i] = omni_f32_to_bf16(k[i]);
        V[i] = omni_f32_to_bf16(v[i]);
    }
}

extern "C" __global__ void omni_attn_ranges_dyn(int* __restrict__ ranges, int rows, const int* __restrict__ lens,
                                                int slot, int delta, int causal, int window) {
    const int i = threadIdx.x;
    if (i >= rows) return;
    const int keys = lens[slot] + delta, pos = keys - rows + i;
    int lo = 0, hi = keys;
    if (causal) hi = min(hi, pos + 1);
    if (window > 0) lo = max(lo, pos - window + 1);
    ranges[2 * i] = lo;
    ranges[2 * i + 1] = max(lo, hi);
}

extern "C" __global__ void omni_q8_0_to_bf16(const signed char* __restrict__ qs, const unsigned short* __restrict__ d,
                                             unsigned short* __restrict__ out, long long n) {
    OMNI_GRID_STRIDE(i, n) {
        out[i] = omni_f32_to_bf16(gv_f16(d[i >> 5]) * (float)qs[i]);
    }
}
