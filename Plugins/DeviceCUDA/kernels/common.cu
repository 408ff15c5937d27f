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
