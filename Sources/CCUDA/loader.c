// Loads libcuda, NVRTC and cuBLASLt with dlopen and fills omni_cuda_api with dlsym (see CCUDA.h).
#include "CCUDA.h"
#include <dlfcn.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static omni_cuda_api g_api;
static int g_status = -1;
static char g_message[512];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/// dlopen of the first name in `names` found in `dir1`, `dir2`, then the loader's path.
/// NVRTC dlopens its builtins library by soname; one that lives next to it outside the loader's path is
/// loaded first, so that lookup finds it.
static void preload_builtins(const char *dir) {
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/libnvrtc-builtins.so.*", dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) dlopen(g.gl_pathv[i], RTLD_NOW | RTLD_GLOBAL);
        globfree(&g);
    }
}

static void *open_first(const char *dir1, const char *dir2, const char *const *names, char *tried, size_t triedBytes) {
    const char *dirs[2] = {dir1, dir2};
    char path[1024];
    for (int n = 0; names[n]; n++) {
        for (int d = 0; d < 2; d++) {
            if (!dirs[d] || !*dirs[d]) continue;
            snprintf(path, sizeof path, "%s/%s", dirs[d], names[n]);
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h) {
                if (strncmp(names[n], "libnvrtc", 8) == 0) preload_builtins(dirs[d]);
                return h;
            }
        }
        void *h = dlopen(names[n], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
        size_t used = strlen(tried);
        snprintf(tried + used, triedBytes - used, "%s%s", used ? ", " : "", names[n]);
    }
    return NULL;
}

#define SYM(lib, field, name)                                                                        \
    do {                                                                                             \
        *(void **)&g_api.field = dlsym(lib, name);                                                   \
        if (!g_api.field) {                                                                          \
            snprintf(g_message, sizeof g_message, "symbol %s missing from its CUDA library", name);   \
            return OMNI_CUDA_MISSING_SYMBOL;                                                         \
        }                                                                                            \
    } while (0)

/// A symbol that may be missing (older drivers): NULL then, and the caller does without.
#define OPTIONAL_SYM(lib, field, name) (*(void **)&g_api.field = dlsym(lib, name))

static int load_driver(const char *libdir) {
    const char *env = getenv("OMNI_CUDA_LIB_DIR");
    char tried[256] = "";
    static const char *const cudaNames[] = {"libcuda.so.1", NULL};
    void *cuda = open_first(libdir, env, cudaNames, tried, sizeof tried);
    if (!cuda) {
        snprintf(g_message, sizeof g_message, "no GPU: libcuda.so.1 not found (no NVIDIA driver on this machine)");
        return OMNI_CUDA_NO_DRIVER;
    }
    SYM(cuda, cuInit, "cuInit");
    SYM(cuda, cuDriverGetVersion, "cuDriverGetVersion");
    SYM(cuda, cuDeviceGetCount, "cuDeviceGetCount");
    SYM(cuda, cuDeviceGet, "cuDeviceGet");
    SYM(cuda, cuDeviceGetName, "cuDeviceGetName");
    SYM(cuda, cuDeviceGetAttribute, "cuDeviceGetAttribute");
    SYM(cuda, cuDeviceTotalMem, "cuDeviceTotalMem_v2");
    SYM(cuda, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    SYM(cuda, cuCtxSetCurrent, "cuCtxSetCurrent");
    SYM(cuda, cuMemGetInfo, "cuMemGetInfo_v2");
    SYM(cuda, cuMemAlloc, "cuMemAlloc_v2");
    SYM(cuda, cuMemFree, "cuMemFree_v2");
    SYM(cuda, cuMemHostAlloc, "cuMemHostAlloc");
    SYM(cuda, cuMemFreeHost, "cuMemFreeHost");
    SYM(cuda, cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    SYM(cuda, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    SYM(cuda, cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    SYM(cuda, cuMemsetD8Async, "cuMemsetD8Async");
    SYM(cuda, cuStreamCreate, "cuStreamCreate");
    SYM(cuda, cuStreamSynchronize, "cuStreamSynchronize");
    SYM(cuda, cuModuleLoadData, "cuModuleLoadData");
    SYM(cuda, cuModuleGetFunction, "cuModuleGetFunction");
    SYM(cuda, cuLaunchKernel, "cuLaunchKernel");
    SYM(cuda, cuGetErrorString, "cuGetErrorString");
    SYM(cuda, cuFuncSetAttribute, "cuFuncSetAttribute");
    OPTIONAL_SYM(cuda, cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    OPTIONAL_SYM(cuda, cuStreamEndCapture, "cuStreamEndCapture");
    OPTIONAL_SYM(cuda, cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
    OPTIONAL_SYM(cuda, cuGraphLaunch, "cuGraphLaunch");
    OPTIONAL_SYM(cuda, cuGraphDestroy, "cuGraphDestroy");
    OPTIONAL_SYM(cuda, cuGraphExecDestroy, "cuGraphExecDestroy");
    OPTIONAL_SYM(cuda, cuLaunchKernelEx, "cuLaunchKernelEx");
    OPTIONAL_SYM(cuda, cuEventCreate, "cuEventCreate");
    OPTIONAL_SYM(cuda, cuEventRecord, "cuEventRecord");
    OPTIONAL_SYM(cuda, cuEventSynchronize, "cuEventSynchronize");
    OPTIONAL_SYM(cuda, cuEventElapsedTime, "cuEventElapsedTime_v2");
    if (!g_api.cuEventElapsedTime) OPTIONAL_SYM(cuda, cuEventElapsedTime, "cuEventElapsedTime");
    OPTIONAL_SYM(cuda, cuEventDestroy, "cuEventDestroy_v2");
    return OMNI_CUDA_OK;
}

static int load_nvrtc(const char *libdir) {
    const char *env = getenv("OMNI_CUDA_LIB_DIR");
    char tried[256] = "";
    static const char *const nvrtcNames[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", NULL};
    void *nvrtc = open_first(libdir, env, nvrtcNames, tried, sizeof tried);
    if (!nvrtc) {
        snprintf(g_message, sizeof g_message, "NVRTC not found (tried %s; set OMNI_CUDA_LIB_DIR)", tried);
        return OMNI_CUDA_NO_NVRTC;
    }
    SYM(nvrtc, nvrtcVersion, "nvrtcVersion");
    SYM(nvrtc, nvrtcCreateProgram, "nvrtcCreateProgram");
    SYM(nvrtc, nvrtcCompileProgram, "nvrtcCompileProgram");
    SYM(nvrtc, nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
    SYM(nvrtc, nvrtcGetProgramLog, "nvrtcGetProgramLog");
    SYM(nvrtc, nvrtcGetCUBINSize, "nvrtcGetCUBINSize");
    SYM(nvrtc, nvrtcGetCUBIN, "nvrtcGetCUBIN");
    SYM(nvrtc, nvrtcDestroyProgram, "nvrtcDestroyProgram");
    SYM(nvrtc, nvrtcGetErrorString, "nvrtcGetErrorString");
    return OMNI_CUDA_OK;
}

static int load_cublaslt(const char *libdir) {
    const char *env = getenv("OMNI_CUDA_LIB_DIR");
    char tried[256] = "";
    static const char *const ltNames[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so", NULL};
    void *lt = open_first(libdir, env, ltNames, tried, sizeof tried);
    if (!lt) {
        snprintf(g_message, sizeof g_message, "cuBLASLt not found (tried %s; set OMNI_CUDA_LIB_DIR)", tried);
        return OMNI_CUDA_NO_CUBLASLT;
    }
    SYM(lt, cublasLtCreate, "cublasLtCreate");
    SYM(lt, cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate");
    SYM(lt, cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy");
    SYM(lt, cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute");
    SYM(lt, cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate");
    SYM(lt, cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy");
    SYM(lt, cublasLtMatmul, "cublasLtMatmul");
    return OMNI_CUDA_OK;
}

static int g_nvrtc = -1, g_lt = -1;
static char g_nvrtcMessage[512];

int omni_cuda_load(const char *libdir, const omni_cuda_api **api, char *message, size_t messageBytes) {
    pthread_mutex_lock(&g_lock);
    if (g_status < 0) {
        g_status = load_driver(libdir);
        if (g_status == OMNI_CUDA_OK) {
            if (g_nvrtc < 0) { g_nvrtc = load_nvrtc(libdir); memcpy(g_nvrtcMessage, g_message, sizeof g_message); }
            if (g_nvrtc != OMNI_CUDA_OK) { g_status = g_nvrtc; memcpy(g_message, g_nvrtcMessage, sizeof g_message); }
        }
        if (g_status == OMNI_CUDA_OK) g_status = g_lt = load_cublaslt(libdir);
    }
    pthread_mutex_unlock(&g_lock);
    if (g_status == OMNI_CUDA_OK) {
        *api = &g_api;
    } else if (message && messageBytes) {
        snprintf(message, messageBytes, "%s", g_message);
    }
    return g_status;
}

int omni_nvrtc_load(const char *libdir, const omni_cuda_api **api, char *message, size_t messageBytes) {
    pthread_mutex_lock(&g_lock);
    if (g_nvrtc < 0) {
        char saved[512];
        memcpy(saved, g_message, sizeof saved);
        g_nvrtc = load_nvrtc(libdir);
        memcpy(g_nvrtcMessage, g_message, sizeof g_message);
        memcpy(g_message, saved, sizeof saved);
    }
    pthread_mutex_unlock(&g_lock);
    if (g_nvrtc == OMNI_CUDA_OK) {
        *api = &g_api;
    } else if (message && messageBytes) {
        snprintf(message, messageBytes, "%s", g_nvrtcMessage);
    }
    return g_nvrtc;
}

// cuda.h's CUlaunchAttribute (an id, padding to 8 bytes, a 64-byte value union) and CUlaunchConfig, CUDA 12/13.
typedef struct {
    int id;
    char pad[4];
    union {
        char bytes[64];
        int programmaticStreamSerializationAllowed;
        void *alignment;
    } value;
} omni_CUlaunchAttribute;

typedef struct {
    unsigned int gridDimX, gridDimY, gridDimZ;
    unsigned int blockDimX, blockDimY, blockDimZ;
    unsigned int sharedMemBytes;
    omni_CUstream hStream;
    omni_CUlaunchAttribute *attrs;
    unsigned int numAttrs;
} omni_CUlaunchConfig;

_Static_assert(sizeof(omni_CUlaunchAttribute) == 72, "CUlaunchAttribute is 72 bytes in cuda.h");

omni_CUresult omni_cuda_launch_dependent(const omni_cuda_api *api, omni_CUfunction f, unsigned grid, unsigned block,
                                         unsigned shared, omni_CUstream stream, void **params) {
    omni_CUlaunchAttribute attr;
    memset(&attr, 0, sizeof attr);
    attr.id = 6; // CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
    attr.value.programmaticStreamSerializationAllowed = 1;
    omni_CUlaunchConfig config;
    memset(&config, 0, sizeof config);
    config.gridDimX = grid; config.gridDimY = 1; config.gridDimZ = 1;
    config.blockDimX = block; config.blockDimY = 1; config.blockDimZ = 1;
    config.sharedMemBytes = shared;
    config.hStream = stream;
    config.attrs = &attr;
    config.numAttrs = 1;
    return api->cuLaunchKernelEx(&config, f, params, NULL);
}
