// Run-time CPU feature detection shared by every kernel.
#include "CKernels.h"
#include <stdlib.h>
#include <string.h>

static int detect(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= OMNI_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        f |= OMNI_CPU_AVX512;
    if ((f & OMNI_CPU_AVX512) && __builtin_cpu_supports("avx512bf16")) f |= OMNI_CPU_AVX512BF16;
    if ((f & OMNI_CPU_AVX512) && __builtin_cpu_supports("avx512vnni")) f |= OMNI_CPU_VNNI;
#endif
    const char *env = getenv("OMNI_CPU");
    if (env) {
        if (strcmp(env, "portable") == 0) f = 0;
        else if (strcmp(env, "avx2") == 0) f &= OMNI_CPU_AVX2;
        else if (strcmp(env, "avx512") == 0) f &= (OMNI_CPU_AVX2 | OMNI_CPU_AVX512);
    }
    return f;
}

static int cached = -1;

int omni_cpu_features(void) {
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) { v = detect(); __atomic_store_n(&cached, v, __ATOMIC_RELAXED); }
    return v;
}

void omni_cpu_override(int mask) { __atomic_store_n(&cached, detect() & mask, __ATOMIC_RELAXED); }

const char *omni_cpu_path(void) {
    int f = omni_cpu_features();
    if (f & OMNI_CPU_AVX512BF16) return "avx512bf16";
    if (f & OMNI_CPU_AVX512) return "avx512";
    if (f & OMNI_CPU_AVX2) return "avx2";
    return "portable";
}
