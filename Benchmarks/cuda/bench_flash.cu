// bench_flash.cu: correctness and speed of Plugins/DeviceCUDA/kernels/flash_attention.cu.
// Build and run on the GPU machine:  nvcc -O3 -std=c++17 -Xcompiler -fopenmp -gencode arch=compute_90,code=sm_90 bench_flash.cu -o bench_flash
// Checks every mask kind against an f64 reference of the f32 inputs (sampled rows for long sequences), with the
// output poisoned (NaN) before each run; times causal thinker prefill (28 heads × 128, GQA 7) and the towers'
// shapes with events (median of 10), TFLOP/s counting 4·D per visible (query, key) pair and head.
#include "harness.h"
#include "../../Plugins/DeviceCUDA/kernels/flash_attention.cu"

struct Case {
    const char* name;
    int Tq, Tk, H, KV, D;
    int causal, window;
    std::vector<int> cu;   // empty: no segments
    bool explicitMask;
    int warps;             // 4 or 8 (8 only for D = 128)
};

typedef void (*FlashFn)(const float*, int, const bf16raw*, int, const bf16raw*, int, float*, int, int, int, int, int,
                        float, int, int, int, const int*, int, const float*);

static FlashFn pick(int D, int warps) {
    if (D == 64) return flash_attn_fwd_d64;
    if (D == 80) return flash_attn_fwd_d80;
    return warps == 8 ? flash_attn_fwd_d128_w8 : flash_attn_fwd_d128;
}
static int smemBytes(int D) { return 2 * 2 * FA_BN * (D + 8) * 2; }

struct Dev {
    float *q = 0, *k = 0, *v = 0, *out = 0, *mask = 0;
    bf16raw *kb = 0, *vb = 0;
    int* cu = 0;
};

static void launch(const Case& c, Dev& d, float scale) {
    int ldk = c.KV * c.D;
    int n4 = c.Tk * ldk / 4;
    int cb = std::min(4096, (n4 + 255) / 256);
    attn_convert_bf16<<<cb, 256>>>(d.k, c.Tk, ldk, ldk, d.kb);
    attn_convert_bf16<<<cb, 256>>>(d.v, c.Tk, ldk, ldk, d.vb);
    int BM = 16 * c.warps;
    dim3 grid(c.H, (c.Tq + BM - 1) / BM);
    pick(c.D, c.warps)<<<grid, 32 * c.warps, smemBytes(c.D)>>>(
        d.q, c.H * c.D, d.kb, ldk, d.vb, ldk, d.out, c.H * c.D, c.Tq, c.Tk, c.H, c.KV, scale, c.causal,
        c.Tk - c.Tq, c.window, c.cu.empty() ? nullptr : d.cu, c.cu.empty() ? 0 : (int)c.cu.size() - 1,
        c.explicitMask ? d.mask : nullptr);
}

static bool visible(const Case& c, int i, int j) {
    int pos = c.Tk - c.Tq + i;
    if (c.causal && j > pos) return false;
    if (c.window > 0 && pos - j >= c.window) return false;
    if (!c.cu.empty()) {
        int si = 0, sj = 0;
        while (si + 1 < (int)c.cu.size() && c.cu[si + 1] <= i) ++si;
        while (sj + 1 < (int)c.cu.size() && c.cu[sj + 1] <= j) ++sj;
        if (si != sj) return false;
    }
    return true;
}

static double visiblePairs(const Case& c) {
    double n = 0;
    if (c.cu.empty() && c.window == 0) {
        for (int i = 0; i < c.Tq; ++i) n += c.causal ? std::min(c.Tk, c.Tk - c.Tq + i + 1) : c.Tk;
        return n;
    }
    for (int i = 0; i < c.Tq; ++i)
        for (int j = 0; j < c.Tk; ++j) n += visible(c, i, j);
    return n;
}

static void runCase(const Case& c, bool check, bool time, uint64_t seed) {
    Rng rng(seed);
    size_t nq = (size_t)c.Tq * c.H * c.D, nk = (size_t)c.Tk * c.KV * c.D;
    std::vector<float> q(nq), k(nk), v(nk), mask;
    for (auto& x : q) x = 1.5f * rng.normal();
    for (auto& x : k) x = rng.normal();
    for (auto& x : v) x = rng.normal();
    if (c.explicitMask) {
        mask.resize((size_t)c.Tq * c.Tk);
        for (size_t i = 0; i < mask.size(); ++i) {
            float u = rng.uni();
            mask[i] = u < 0.2f ? -INFINITY : 2.f * rng.sym();
        }
        // Row 3 sees nothing: its output must be zeros.
        if (c.Tq > 3) for (int j = 0; j < c.Tk; ++j) mask[(size_t)3 * c.Tk + j] = -INFINITY;
    }
    Dev d;
    CK(cudaMalloc(&d.q, nq * 4)); CK(cudaMalloc(&d.k, nk * 4)); CK(cudaMalloc(&d.v, nk * 4));
    CK(cudaMalloc(&d.out, nq * 4)); CK(cudaMalloc(&d.kb, nk * 2)); CK(cudaMalloc(&d.vb, nk * 2));
    CK(cudaMemcpy(d.q, q.data(), nq * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.k, k.data(), nk * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(d.v, v.data(), nk * 4, cudaMemcpyHostToDevice));
    if (!c.cu.empty()) {
        CK(cudaMalloc(&d.cu, c.cu.size() * 4));
        CK(cudaMemcpy(d.cu, c.cu.data(), c.cu.size() * 4, cudaMemcpyHostToDevice));
    }
    if (c.explicitMask) {
        CK(cudaMalloc(&d.mask, mask.size() * 4));
        CK(cudaMemcpy(d.mask, mask.data(), mask.size() * 4, cudaMemcpyHostToDevice));
    }
    CK(cudaFuncSetAttribute(pick(c.D, c.warps), cudaFuncAttributeMaxDynamicSharedMemorySize, smemBytes(c.D)));
    float scale = 1.f / sqrtf((float)c.D);
    char label[160];
    snprintf(label, sizeof label, "flash %s Tq%d Tk%d H%d/%d D%d w%d", c.name, c.Tq, c.Tk, c.H, c.KV, c.D, c.warps);

    if (check) {
        CK(cudaMemset(d.out, 0xFF, nq * 4));  // NaN poison
        launch(c, d, scale);
        CKL();
        CK(cudaDeviceSynchronize());
        std::vector<float> out(nq);
        CK(cudaMemcpy(out.data(), d.out, nq * 4, cudaMemcpyDeviceToHost));
        // Every element written.
        long unwritten = 0;
        for (float x : out) unwritten += !(fabsf(x) < 1e30f);
        std::vector<int> rows;
        if ((double)c.Tq * c.Tk * c.H <= 1e7) for (int i = 0; i < c.Tq; ++i) rows.push_back(i);
        else {
            for (int i = 0; i < 32 && i < c.Tq; ++i) rows.push_back(i);
            for (int i = 0; i < 64; ++i) rows.push_back((int)(rng.u32() % c.Tq));
            for (int i = std::max(0, c.Tq - 32); i < c.Tq; ++i) rows.push_back(i);
        }
        ErrStat e;
        e.bad += unwritten;
        int G = c.H / c.KV;
        std::vector<double> ref((size_t)rows.size() * c.H * c.D);
#pragma omp parallel for schedule(dynamic)
        for (long task = 0; task < (long)rows.size() * c.H; ++task) {
            int i = rows[task / c.H], h = (int)(task % c.H);
            std::vector<double> p(c.Tk), acc(c.D, 0.0);
            const float* qi = &q[((size_t)i * c.H + h) * c.D];
            int kvh = h / G;
            double m = -INFINITY;
            for (int j = 0; j < c.Tk; ++j) {
                double s = -INFINITY;
                if (visible(c, i, j)) {
                    const float* kj = &k[((size_t)j * c.KV + kvh) * c.D];
                    s = 0;
                    for (int x = 0; x < c.D; ++x) s += (double)qi[x] * kj[x];
                    s *= scale;
                    if (c.explicitMask) s += mask[(size_t)i * c.Tk + j];
                }
                p[j] = s;
                m = std::max(m, s);
            }
            double l = 0;
            if (m > -INFINITY)
                for (int j = 0; j < c.Tk; ++j) {
                    if (p[j] == -INFINITY) continue;
                    double w = exp(p[j] - m);
                    l += w;
                    const float* vj = &v[((size_t)j * c.KV + kvh) * c.D];
                    for (int x = 0; x < c.D; ++x) acc[x] += w * vj[x];
                }
            for (int x = 0; x < c.D; ++x) ref[(size_t)task * c.D + x] = l > 0 ? acc[x] / l : 0.0;
        }
        for (long task = 0; task < (long)rows.size() * c.H; ++task) {
            int i = rows[task / c.H], h = (int)(task % c.H);
            for (int x = 0; x < c.D; ++x) e.add(out[((size_t)i * c.H + h) * c.D + x], ref[(size_t)task * c.D + x]);
        }
        report(label, e, 1e-2);
    }
    if (time) {
        Timer t;
        double pairs = visiblePairs(c);
        double flops = 4.0 * pairs * c.D * c.H;
        float ms = t.median([&] { launch(c, d, scale); });
        int ldk = c.KV * c.D, n4 = c.Tk * ldk / 4, cb = std::min(4096, (n4 + 255) / 256);
        float msConv = t.median([&] {
            attn_convert_bf16<<<cb, 256>>>(d.k, c.Tk, ldk, ldk, d.kb);
            attn_convert_bf16<<<cb, 256>>>(d.v, c.Tk, ldk, ldk, d.vb);
        });
        printf("TIME  %-58s %8.3f ms (convert %.3f)  %6.1f TFLOP/s kernel, %6.1f with convert\n", label, ms, msConv,
               flops / ((ms - msConv) * 1e-3) / 1e12, flops / (ms * 1e-3) / 1e12);
    }
    cudaFree(d.q); cudaFree(d.k); cudaFree(d.v); cudaFree(d.out); cudaFree(d.kb); cudaFree(d.vb);
    if (d.cu) cudaFree(d.cu);
    if (d.mask) cudaFree(d.mask);
}

static std::vector<int> evenSegments(int T, int len) {
    std::vector<int> cu{0};
    for (int s = len; s < T; s += len) cu.push_back(s);
    cu.push_back(T);
    return cu;
}

int main() {
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0));
    printf("device %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    std::vector<Case> checks = {
        {"causal", 512, 512, 28, 4, 128, 1, 0, {}, false, 4},
        {"causal", 512, 512, 28, 4, 128, 1, 0, {}, false, 8},
        {"causal-offset", 100, 1000, 28, 4, 128, 1, 0, {}, false, 4},
        {"causal-offset", 77, 1077, 28, 4, 128, 1, 0, {}, false, 8},
        {"decode-rows", 3, 50, 28, 4, 128, 1, 0, {}, false, 4},
        {"causal-long", 3000, 3000, 4, 2, 128, 1, 0, {}, false, 4},
        {"window", 777, 777, 8, 2, 128, 1, 200, {}, false, 4},
        {"window-offset", 130, 900, 8, 2, 64, 1, 333, {}, false, 4},
        {"full", 333, 333, 6, 6, 80, 0, 0, {}, false, 4},
        {"segments", 1000, 1000, 16, 16, 80, 0, 0, {0, 300, 301, 700, 1000}, false, 4},
        {"segments", 750, 750, 20, 20, 64, 0, 0, evenSegments(750, 100), false, 4},
        {"segments-causal", 600, 600, 8, 4, 128, 1, 0, {0, 17, 250, 600}, false, 4},
        {"explicit", 300, 300, 4, 1, 64, 0, 0, {}, true, 4},
        {"explicit-causal", 200, 260, 4, 2, 128, 1, 0, {}, true, 4},
        {"explicit", 190, 190, 3, 3, 80, 0, 0, {}, true, 4},
    };
    uint64_t seed = (uint64_t)time(nullptr);
    printf("seed %llu\n", (unsigned long long)seed);
    for (size_t i = 0; i < checks.size(); ++i) runCase(checks[i], true, false, seed + i);
    std::vector<Case> timed = {
        {"thinker-causal", 512, 512, 28, 4, 128, 1, 0, {}, false, 4},
        {"thinker-causal", 512, 512, 28, 4, 128, 1, 0, {}, false, 8},
        {"thinker-causal", 2048, 2048, 28, 4, 128, 1, 0, {}, false, 4},
        {"thinker-causal", 2048, 2048, 28, 4, 128, 1, 0, {}, false, 8},
        {"thinker-causal", 8192, 8192, 28, 4, 128, 1, 0, {}, false, 4},
        {"thinker-causal", 8192, 8192, 28, 4, 128, 1, 0, {}, false, 8},
        {"thinker-full", 8192, 8192, 28, 4, 128, 0, 0, {}, false, 8},
        {"vision-448", 1024, 1024, 16, 16, 80, 0, 0, {0, 1024}, false, 4},
        {"vision-4x448", 4096, 4096, 16, 16, 80, 0, 0, evenSegments(4096, 1024), false, 4},
        {"audio-30s", 1500, 1500, 20, 20, 64, 0, 0, evenSegments(1500, 100), false, 4},
    };
    for (size_t i = 0; i < timed.size(); ++i) runCase(timed[i], i % 2 == 0 && i < 6 ? true : false, true, seed + 100 + i);
    printf("flash: %d check(s) failed\n", g_failures);
    return g_failures ? 1 : 0;
}
