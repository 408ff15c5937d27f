// Our own minimal declarations of the CUDA driver API, NVRTC and cuBLASLt functions swift-omni calls, loaded at run
// time with dlopen/dlsym: nothing of CUDA is needed to build, and a machine without a GPU only gets a clear reason.
// Types are the ABI-level ones (opaque handles are pointers, CUdeviceptr is a 64-bit integer, enums are ints).
#ifndef OMNI_CCUDA_H
#define OMNI_CCUDA_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__clang__)
#define OMNI_NONNULL _Nonnull
#define OMNI_NULLABLE _Nullable
#pragma clang diagnostic ignored "-Wnullability-completeness"
#else
#define OMNI_NONNULL
#define OMNI_NULLABLE
#endif

typedef int omni_CUresult;
typedef int omni_CUdevice;
typedef void *omni_CUcontext;
typedef void *omni_CUmodule;
typedef void *omni_CUfunction;
typedef void *omni_CUstream;
typedef void *omni_CUgraph;
typedef void *omni_CUgraphExec;
typedef void *omni_CUevent;
typedef uint64_t omni_CUdeviceptr;
typedef void *omni_nvrtcProgram;
typedef int omni_nvrtcResult;
typedef int omni_cublasStatus;
typedef void *omni_cublasLtHandle;
typedef void *omni_cublasLtMatmulDesc;
typedef void *omni_cublasLtMatrixLayout;

/// Values of the enums we pass (from the public CUDA 12/13 headers).
enum {
    OMNI_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    OMNI_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    OMNI_CUDA_R_32F = 0,
    OMNI_CUDA_R_16F = 2,
    OMNI_CUDA_R_16BF = 14,
    OMNI_CUBLAS_COMPUTE_32F = 68,
    OMNI_CUBLASLT_MATMUL_DESC_TRANSA = 3,
    OMNI_CUBLASLT_MATMUL_DESC_TRANSB = 4,
    OMNI_CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    OMNI_CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    OMNI_CUBLASLT_EPILOGUE_BIAS = 4,
    OMNI_CUBLAS_OP_N = 0,
    OMNI_CUBLAS_OP_T = 1,
};

/// The functions we call, filled by omni_cuda_load. Driver entries are the `_v2` symbols where cuda.h maps to them.
typedef struct {
    // Driver API (libcuda.so.1).
    omni_CUresult (* OMNI_NONNULL cuInit)(unsigned int);
    omni_CUresult (* OMNI_NONNULL cuDriverGetVersion)(int *);
    omni_CUresult (* OMNI_NONNULL cuDeviceGetCount)(int *);
    omni_CUresult (* OMNI_NONNULL cuDeviceGet)(omni_CUdevice *, int);
    omni_CUresult (* OMNI_NONNULL cuDeviceGetName)(char *, int, omni_CUdevice);
    omni_CUresult (* OMNI_NONNULL cuDeviceGetAttribute)(int *, int, omni_CUdevice);
    omni_CUresult (* OMNI_NONNULL cuDeviceTotalMem)(size_t *, omni_CUdevice);
    omni_CUresult (* OMNI_NONNULL cuDevicePrimaryCtxRetain)(omni_CUcontext *, omni_CUdevice);
    omni_CUresult (* OMNI_NONNULL cuCtxSetCurrent)(omni_CUcontext);
    omni_CUresult (* OMNI_NONNULL cuMemGetInfo)(size_t *, size_t *);
    omni_CUresult (* OMNI_NONNULL cuMemAlloc)(omni_CUdeviceptr *, size_t);
    omni_CUresult (* OMNI_NONNULL cuMemFree)(omni_CUdeviceptr);
    omni_CUresult (* OMNI_NONNULL cuMemHostAlloc)(void **, size_t, unsigned int);
    omni_CUresult (* OMNI_NONNULL cuMemFreeHost)(void *);
    omni_CUresult (* OMNI_NONNULL cuMemcpyHtoDAsync)(omni_CUdeviceptr, const void *, size_t, omni_CUstream);
    omni_CUresult (* OMNI_NONNULL cuMemcpyDtoHAsync)(void *, omni_CUdeviceptr, size_t, omni_CUstream);
    omni_CUresult (* OMNI_NONNULL cuMemcpyDtoDAsync)(omni_CUdeviceptr, omni_CUdeviceptr, size_t, omni_CUstream);
    omni_CUresult (* OMNI_NONNULL cuMemsetD8Async)(omni_CUdeviceptr, unsigned char, size_t, omni_CUstream);
    omni_CUresult (* OMNI_NONNULL cuStreamCreate)(omni_CUstream *, unsigned int);
    omni_CUresult (* OMNI_NONNULL cuStreamSynchronize)(omni_CUstream);
    omni_CUresult (* OMNI_NONNULL cuModuleLoadData)(omni_CUmodule *, const void *);
    omni_CUresult (* OMNI_NONNULL cuModuleGetFunction)(omni_CUfunction *, omni_CUmodule, const char *);
    omni_CUresult (* OMNI_NONNULL cuLaunchKernel)(omni_CUfunction, unsigned int, unsigned int, unsigned int, unsigned int,
                                    unsigned int, unsigned int, unsigned int, omni_CUstream, void **, void **);
    omni_CUresult (* OMNI_NONNULL cuGetErrorString)(omni_CUresult, const char **);
    /// For kernels that take more than 48 KiB of dynamic shared memory (attribute 8, the dynamic limit).
    omni_CUresult (* OMNI_NONNULL cuFuncSetAttribute)(omni_CUfunction, int, int);
    // CUDA graphs (decode replays one graph per token). Optional: NULL where the driver lacks them, and the
    // executor then launches kernel by kernel.
    /// cuStreamBeginCapture_v2(stream, mode): mode 2 = CU_STREAM_CAPTURE_MODE_RELAXED.
    omni_CUresult (* OMNI_NULLABLE cuStreamBeginCapture)(omni_CUstream, int);
    omni_CUresult (* OMNI_NULLABLE cuStreamEndCapture)(omni_CUstream, omni_CUgraph *);
    omni_CUresult (* OMNI_NULLABLE cuGraphInstantiateWithFlags)(omni_CUgraphExec *, omni_CUgraph, unsigned long long);
    omni_CUresult (* OMNI_NULLABLE cuGraphLaunch)(omni_CUgraphExec, omni_CUstream);
    omni_CUresult (* OMNI_NULLABLE cuGraphDestroy)(omni_CUgraph);
    omni_CUresult (* OMNI_NULLABLE cuGraphExecDestroy)(omni_CUgraphExec);
    /// cuLaunchKernelEx(config, f, params, extra) (CUDA 12+): omni_cuda_launch_dependent's way to pass the
    /// programmatic-dependent-launch attribute. Optional: NULL on older drivers, and launches stay plain.
    omni_CUresult (* OMNI_NULLABLE cuLaunchKernelEx)(const void *, omni_CUfunction, void **, void **);
    // Events (OMNI_CUDA_STEP_PROFILE=1 times each operation of a decode step on the GPU). Optional.
    /// cuEventCreate(event, flags): flags 0 (timing on).
    omni_CUresult (* OMNI_NULLABLE cuEventCreate)(omni_CUevent *, unsigned int);
    omni_CUresult (* OMNI_NULLABLE cuEventRecord)(omni_CUevent, omni_CUstream);
    omni_CUresult (* OMNI_NULLABLE cuEventSynchronize)(omni_CUevent);
    /// Milliseconds between two recorded events (cuEventElapsedTime_v2 where the driver has it).
    omni_CUresult (* OMNI_NULLABLE cuEventElapsedTime)(float *, omni_CUevent, omni_CUevent);
    omni_CUresult (* OMNI_NULLABLE cuEventDestroy)(omni_CUevent);
    // NVRTC.
    omni_nvrtcResult (* OMNI_NONNULL nvrtcVersion)(int *, int *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcCreateProgram)(omni_nvrtcProgram *, const char *, const char *, int, const char *const *,
                                           const char *const *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcCompileProgram)(omni_nvrtcProgram, int, const char *const *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcGetProgramLogSize)(omni_nvrtcProgram, size_t *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcGetProgramLog)(omni_nvrtcProgram, char *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcGetCUBINSize)(omni_nvrtcProgram, size_t *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcGetCUBIN)(omni_nvrtcProgram, char *);
    omni_nvrtcResult (* OMNI_NONNULL nvrtcDestroyProgram)(omni_nvrtcProgram *);
    const char *(* OMNI_NONNULL nvrtcGetErrorString)(omni_nvrtcResult);
    // cuBLASLt.
    omni_cublasStatus (* OMNI_NONNULL cublasLtCreate)(omni_cublasLtHandle *);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatmulDescCreate)(omni_cublasLtMatmulDesc *, int, int);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatmulDescDestroy)(omni_cublasLtMatmulDesc);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatmulDescSetAttribute)(omni_cublasLtMatmulDesc, int, const void *, size_t);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatrixLayoutCreate)(omni_cublasLtMatrixLayout *, int, uint64_t, uint64_t, int64_t);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatrixLayoutDestroy)(omni_cublasLtMatrixLayout);
    omni_cublasStatus (* OMNI_NONNULL cublasLtMatmul)(omni_cublasLtHandle, omni_cublasLtMatmulDesc, const void *, const void *,
                                        omni_cublasLtMatrixLayout, const void *, omni_cublasLtMatrixLayout,
                                        const void *, const void *, omni_cublasLtMatrixLayout, void *,
                                        omni_cublasLtMatrixLayout, const void *, void *, size_t, omni_CUstream);
} omni_cuda_api;

/// Launches `f` (a 1-D grid) with CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION set: the kernel may start
/// before the one ahead of it on the stream has finished, and must wait for it itself (griddepcontrol.wait; see
/// kernels/common.cu). Builds the driver's CUlaunchConfig (whose layout this file owns). Requires
/// api->cuLaunchKernelEx.
omni_CUresult omni_cuda_launch_dependent(const omni_cuda_api *api, omni_CUfunction f, unsigned grid, unsigned block,
                                         unsigned shared, omni_CUstream stream, void **params);

/// What omni_cuda_load found.
enum {
    OMNI_CUDA_OK = 0,
    OMNI_CUDA_NO_DRIVER = 1,    ///< libcuda.so.1 not found (no NVIDIA driver)
    OMNI_CUDA_NO_NVRTC = 2,     ///< libnvrtc not found
    OMNI_CUDA_NO_CUBLASLT = 3,  ///< libcublasLt not found
    OMNI_CUDA_MISSING_SYMBOL = 4,
};

/// Loads the three libraries once (later calls return the first outcome). `libdir` (may be NULL) is searched
/// first, then OMNI_CUDA_LIB_DIR, then the dynamic loader's path. On failure `message` says what is missing.
/// `api` receives the function table (valid for the process's lifetime) on success.
int omni_cuda_load(const char *libdir, const omni_cuda_api **api, char *message, size_t messageBytes);

/// Loads NVRTC alone (compiling kernels needs no GPU): only the NVRTC entries of `api` are valid.
int omni_nvrtc_load(const char *libdir, const omni_cuda_api **api, char *message, size_t messageBytes);

#ifdef __cplusplus
}
#endif
#endif
