// Shared helpers for every kernel file. NVRTC compiles all files as one program, this one first; no #include:
// bf16 is handled by bit operations and every math function used is an NVRTC built-in.
#define OMNI_NEG_INF __int_as_float(0xff800000)
#define OMNI_GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)

/// bf16 (stored as its 16 bits) → f32.
__device__ __forceinline__ float omni_bf16_to_f32(unsigned short h) { return __int_as_float(((int)h) << 16); }

/// f32 → bf16, round to nearest even (NaN stays NaN).
__device__ __forceinline__ unsigned short omni_f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

/// Sum of `v` over the block (blockDim.x a multiple of 32, ≤ 1024); every thread gets the result.
__device__ float omni_block_sum(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    float s = lane < warps ? partial[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    return s;
}

/// Maximum of `v` over the block, as omni_block_sum.
__device__ float omni_block_max(float v) {
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    float m = lane < warps ? partial[lane] : OMNI_NEG_INF;
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    return m;
}

// Programmatic dependent launch (sm_90 and newer; no-ops before). A kernel launched with the PDL attribute
// (CUDAContext.waitsForPredecessor lists them: the GEMVs and the decode step's other kernels) may start while the
// kernel before it is still finishing: it must call omni_pdl_wait() before it reads anything an earlier kernel wrote
// and before it writes anything; what it loads before that is only its weights, which no kernel writes. Such a
// kernel is alive while the one before it still writes, so what that one writes is never read through the
// non-coherent path: no ld.global.nc, and no const __restrict__ on those pointers (which lets the compiler use it;
// stale rows on the H200 until this was so). omni_pdl_trigger() lets the dependent kernel be scheduled once every
// block of this one has started (without it: once they have exited).
// Neither changes a value computed.
__device__ __forceinline__ void omni_pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void omni_pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}
