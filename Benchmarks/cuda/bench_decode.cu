// bench_decode.cu: correctness and speed of Plugins/DeviceCUDA/kernels/decode_attention.cu (split-K decode).
// Build on the GPU machine:  nvcc -O3 -std=c++17 -Xcompiler -fopenmp -gencode arch=compute_90,code=sm_90 bench_decode.cu -o bench_decode
// Checks against an f64 reference (all rows, NaN-poisoned output); times 1 query row over 2k … 32k cached keys
// with the thinker's heads (28 / 4, D 128) and reports the cache bytes read per second.
#include "harness.h"
#include "../../Plugins/DeviceCUDA/kernels/decode_attention.cu"

typedef void (*SplitFn)(const float*, int, const float*, int, const float*, int, float*, int, int, int, int, int, int,
                        int, float, int);
static SplitFn pick(int D) {
    return D == 64 ? omni_attn_decode_split_d64 : D == 80 ? omni_attn_decode_split_d80 : omni_attn_decode_split_d128;
}

// The host's choice of chunk: about two blocks per multiprocessor, 32 … 256 keys a block.
static int chooseChunk(int Tk, int KV, int sms) {
    int splits = std::max(1, (2 * sms + KV - 1) / KV);
    int chunk = (Tk + splits - 1) / splits;
    chunk = (chunk + 31) / 32 * 32;
    return std::min(256, std::max(32, chunk));
}

struct Case { const char* name; int Tq, Tk, H, KV, D, causal, window; };

static void runCase(const Case& c, bool check, bool time, uint64_t seed, int sms, int chunkOverride = 0) {
    Rng rng(seed);
    size_t nq = (size_t)c.Tq * c.H * c.D, nk = (size_t)c.Tk * c.KV * c.D;
    std::vector<float> q(nq), k(nk), v(nk);
    for (auto& x : q) x = 1.5f * rng.normal();
    for (auto& x : k) x = rng.normal();
    for (auto& x : v) x = rng.normal();
    int chunk = chunkOverride ? chunkOverride : chooseChunk(c.Tk, c.KV, sms);
    int nSplit = (c.Tk + chunk - 1) / chunk;
    int R = c.H / c.KV * c.Tq;
    if (R > DA_MAXR) { printf("skip %s: R %d > %d\n", c.name, R, DA_MAXR); return; }
    float *dq, *dk, *dv, *dout, *dpart;
    CK(cudaMalloc(&dq, nq * 4)); CK(cudaMalloc(&dk, nk * 4)); CK(cudaMalloc(&dv, nk * 4)); CK(cudaMalloc(&dout, nq * 4));
    CK(cudaMalloc(&dpart, (size_t)nSplit * c.H * c.Tq * (c.D + 2) * 4));
    CK(cudaMemcpy(dq, q.data(), nq * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dk, k.data(), nk * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dv, v.data(), nk * 4, cudaMemcpyHostToDevice));
    size_t smem = (size_t)4 * R * (c.D + chunk);
    CK(cudaFuncSetAttribute(pick(c.D), cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    float scale = 1.f / sqrtf((float)c.D);
    int off = c.Tk - c.Tq;
    auto launch = [&] {
        pick(c.D)<<<c.KV * nSplit, 128, smem>>>(dq, c.H * c.D, dk, c.KV * c.D, dv, c.KV * c.D, dpart, c.Tq, c.Tk,
                                                      c.H, c.KV, c.causal, off, c.window, scale, chunk, nullptr, 0, 0,
                                                      nullptr, 0, nullptr);
        omni_attn_decode_combine<<<c.H * c.Tq, 128>>>(dpart, dout, c.H * c.D, c.Tq, c.H, c.D, nSplit);
    };
    char label[160];
    snprintf(label, sizeof label, "decode %s Tq%d Tk%d H%d/%d D%d chunk%d", c.name, c.Tq, c.Tk, c.H, c.KV, c.D, chunk);
    if (check) {
        CK(cudaMemset(dout, 0xFF, nq * 4));
        launch();
        CKL();
        CK(cudaDeviceSynchronize());
        std::vector<float> out(nq);
        CK(cudaMemcpy(out.data(), dout, nq * 4, cudaMemcpyDeviceToHost));
        std::vector<double> ref(nq);
        int G = c.H / c.KV;
#pragma omp parallel for
        for (int task = 0; task < c.Tq * c.H; ++task) {
            int i = task / c.H, h = task % c.H, kvh = h / G, pos = off + i;
            std::vector<double> p(c.Tk), acc(c.D, 0.0);
            double m = -INFINITY;
            for (int j = 0; j < c.Tk; ++j) {
                bool ok = (!c.causal || j <= pos) && (c.window <= 0 || pos - j < c.window);
                double s = -INFINITY;
                if (ok) {
                    s = 0;
                    for (int x = 0; x < c.D; ++x) s += (double)q[((size_t)i * c.H + h) * c.D + x] * k[((size_t)j * c.KV + kvh) * c.D + x];
                    s *= scale;
                }
                p[j] = s; m = std::max(m, s);
            }
            double l = 0;
            for (int j = 0; j < c.Tk; ++j) {
                if (p[j] == -INFINITY) continue;
                double w = exp(p[j] - m); l += w;
                for (int x = 0; x < c.D; ++x) acc[x] += w * v[((size_t)j * c.KV + kvh) * c.D + x];
            }
            for (int x = 0; x < c.D; ++x) ref[((size_t)i * c.H + h) * c.D + x] = l > 0 ? acc[x] / l : 0.0;
        }
        ErrStat e;
        for (size_t x = 0; x < nq; ++x) e.add(out[x], ref[x]);
        report(label, e, 1e-5);
    }
    if (time) {
        Timer t;
        float ms = t.median(launch, 20, 10);
        double bytes = 2.0 * nk * 4;
        printf("TIME  %-58s %8.4f ms  %7.1f GB/s of cache\n", label, ms, bytes / (ms * 1e-3) / 1e9);
    }
    cudaFree(dq); cudaFree(dk); cudaFree(dv); cudaFree(dout); cudaFree(dpart);
}

int main() {
    int sms = smCount();
    uint64_t seed = (uint64_t)time(nullptr);
    printf("seed %llu, %d SMs\n", (unsigned long long)seed, sms);
    std::vector<Case> checks = {
        {"first-token", 1, 1, 28, 4, 128, 1, 0},
        {"short", 1, 100, 28, 4, 128, 1, 0},
        {"long", 1, 4096, 28, 4, 128, 1, 0},
        {"rows4", 4, 3000, 28, 4, 128, 1, 0},
        {"rows4-window", 4, 3000, 28, 4, 128, 1, 500},
        {"noncausal", 2, 777, 16, 16, 80, 0, 0},
        {"d64", 3, 1234, 20, 5, 64, 1, 0},
        {"talker", 1, 2049, 12, 4, 128, 1, 0},
    };
    for (size_t i = 0; i < checks.size(); ++i) runCase(checks[i], true, false, seed + i, sms);
    std::vector<Case> timed = {
        {"thinker", 1, 2048, 28, 4, 128, 1, 0},
        {"thinker", 1, 8192, 28, 4, 128, 1, 0},
        {"thinker", 1, 32768, 28, 4, 128, 1, 0},
        {"thinker", 4, 8192, 28, 4, 128, 1, 0},
    };
    for (size_t i = 0; i < timed.size(); ++i) runCase(timed[i], true, true, seed + 100 + i, sms);
    // Chunk sweep (the host heuristic's choice is the row above with the same shape).
    for (int Tk : {2048, 8192, 32768})
        for (int chunk : {32, 64, 128, 256}) runCase({"sweep", 1, Tk, 28, 4, 128, 1, 0}, false, true, seed + 200, sms, chunk);
    printf("decode: %d check(s) failed\n", g_failures);
    return g_failures ? 1 : 0;
}
