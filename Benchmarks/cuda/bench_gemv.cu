// bench_gemv.cu: correctness and speed of Plugins/DeviceCUDA/kernels/gemv.cu (decode linear layers).
// Build on the GPU machine:  nvcc -O3 -std=c++17 -Xcompiler -fopenmp -gencode arch=compute_90,code=sm_90 bench_gemv.cu -o bench_gemv
// 1. Measures the device-to-device copy bandwidth (bytes read + written), the roofline's denominator.
// 2. Checks bf16 and Q8_0 GEMV (1 … 8 rows, odd N, bias) and the Q8_0 repack against f64 references.
// 3. Times every 7B thinker projection shape for each split (wpr) over weight copies larger than the L2,
//    and one whole decode token's GEMVs (28 layers × q k v o gate up down + lm_head, all distinct weights):
//    weight bytes / time as GB/s and as a fraction of the copy bandwidth.
#include "harness.h"
#include "../../Plugins/DeviceCUDA/kernels/gemv.cu"

typedef void (*BfFn)(const float*, int, const unsigned short*, const float*, float*, int, int, int, int, int);
typedef void (*QFn)(const float*, int, const signed char*, const unsigned short*, const float*, float*, int, int, int,
                    int, int);
static BfFn pickBf(int M) { return M <= 1 ? omni_gemv_bf16_m1 : M <= 2 ? omni_gemv_bf16_m2 : M <= 4 ? omni_gemv_bf16_m4 : omni_gemv_bf16_m8; }
static QFn pickQ(int M) { return M <= 1 ? omni_gemv_q8_0_m1 : M <= 2 ? omni_gemv_q8_0_m2 : M <= 4 ? omni_gemv_q8_0_m4 : omni_gemv_q8_0_m8; }
static int blocksFor(int N, int wpr) { int groups = (N + GV_NR - 1) / GV_NR, per = GV_WARPS / wpr; return (groups + per - 1) / per; }

// The host's split choice: the fewest warps per row group that still give every multiprocessor ≥ 16 warps
// (first H200 run: 32 chose 8 for q/o and down where 4 was 10% faster).
// Q8_0 rows are half the bytes, so it asks for 8 warps a multiprocessor (second run: wpr 2 beat 4 for q/o and down).
static int chooseWpr(int N, int sms, bool q8 = false) {
    int groups = (N + GV_NR - 1) / GV_NR;
    int wpr = 1;
    while (wpr < GV_WARPS && (long)groups * wpr < (q8 ? 8L : 16L) * sms) wpr *= 2;
    return wpr;
}

static void checkBf(int M, int N, int K, int wpr, bool bias, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> x((size_t)M * K), b(N);
    std::vector<uint16_t> w((size_t)N * K);
    for (auto& v : x) v = rng.sym();
    for (auto& v : w) v = f2bf(rng.normal() * 0.05f);
    for (auto& v : b) v = rng.sym();
    float *dx, *dy, *db; uint16_t* dw;
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dy, (size_t)M * N * 4)); CK(cudaMalloc(&db, N * 4));
    CK(cudaMalloc(&dw, w.size() * 2));
    CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dw, w.data(), w.size() * 2, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(db, b.data(), N * 4, cudaMemcpyHostToDevice));
    CK(cudaMemset(dy, 0xFF, (size_t)M * N * 4));
    pickBf(M)<<<blocksFor(N, wpr), 256>>>(dx, K, dw, bias ? db : nullptr, dy, N, M, N, K, wpr);
    CKL(); CK(cudaDeviceSynchronize());
    std::vector<float> y((size_t)M * N);
    CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
    ErrStat e;
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double s = bias ? b[n] : 0;
            for (int kk = 0; kk < K; ++kk) s += (double)x[(size_t)m * K + kk] * bf2f(w[(size_t)n * K + kk]);
            e.add(y[(size_t)m * N + n], s);
        }
    char label[128];
    snprintf(label, sizeof label, "gemv bf16 M%d N%d K%d wpr%d%s", M, N, K, wpr, bias ? " bias" : "");
    report(label, e, 1e-5);
    cudaFree(dx); cudaFree(dy); cudaFree(db); cudaFree(dw);
}

static void checkQ(int M, int N, int K, int wpr, bool bias, uint64_t seed) {
    Rng rng(seed);
    size_t nb = (size_t)N * K / 32;
    std::vector<float> x((size_t)M * K), b(N);
    std::vector<uint8_t> blocks(nb * 34);
    for (auto& v : x) v = rng.sym();
    for (auto& v : b) v = rng.sym();
    for (size_t i = 0; i < nb; ++i) {
        uint16_t h = f2h(0.001f + 0.01f * rng.uni());
        blocks[i * 34] = h & 255; blocks[i * 34 + 1] = h >> 8;
        for (int j = 0; j < 32; ++j) blocks[i * 34 + 2 + j] = (uint8_t)(int8_t)((int)(rng.u32() % 255) - 127);
    }
    uint8_t* dblocks; signed char* dq; uint16_t* dd; float *dx, *dy, *db;
    CK(cudaMalloc(&dblocks, blocks.size())); CK(cudaMalloc(&dq, (size_t)N * K)); CK(cudaMalloc(&dd, nb * 2));
    CK(cudaMalloc(&dx, x.size() * 4)); CK(cudaMalloc(&dy, (size_t)M * N * 4)); CK(cudaMalloc(&db, N * 4));
    CK(cudaMemcpy(dblocks, blocks.data(), blocks.size(), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(db, b.data(), N * 4, cudaMemcpyHostToDevice));
    CK(cudaMemset(dq, 0x55, (size_t)N * K)); CK(cudaMemset(dd, 0xFF, nb * 2));
    omni_q8_0_repack<<<1024, 256>>>(dblocks, (long long)nb, dq, dd);
    CKL();
    CK(cudaMemset(dy, 0xFF, (size_t)M * N * 4));
    pickQ(M)<<<blocksFor(N, wpr), 256>>>(dx, K, dq, dd, bias ? db : nullptr, dy, N, M, N, K, wpr);
    CKL(); CK(cudaDeviceSynchronize());
    // The repack, exactly.
    std::vector<int8_t> qs((size_t)N * K); std::vector<uint16_t> ds(nb);
    CK(cudaMemcpy(qs.data(), dq, qs.size(), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(ds.data(), dd, nb * 2, cudaMemcpyDeviceToHost));
    long mismatch = 0;
    for (size_t i = 0; i < nb; ++i) {
        mismatch += ds[i] != (uint16_t)(blocks[i * 34] | (blocks[i * 34 + 1] << 8));
        for (int j = 0; j < 32; ++j) mismatch += qs[i * 32 + j] != (int8_t)blocks[i * 34 + 2 + j];
    }
    std::vector<float> y((size_t)M * N);
    CK(cudaMemcpy(y.data(), dy, y.size() * 4, cudaMemcpyDeviceToHost));
    ErrStat e;
    e.bad += mismatch;
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            double s = bias ? b[n] : 0;
            for (int kk = 0; kk < K; ++kk) {
                size_t bi = ((size_t)n * K + kk) / 32;
                double d = h2f((uint16_t)(blocks[bi * 34] | (blocks[bi * 34 + 1] << 8)));
                s += (double)x[(size_t)m * K + kk] * d * (int8_t)blocks[bi * 34 + 2 + kk % 32];
            }
            e.add(y[(size_t)m * N + n], s);
        }
    char label[128];
    snprintf(label, sizeof label, "gemv q8_0+repack M%d N%d K%d wpr%d%s", M, N, K, wpr, bias ? " bias" : "");
    report(label, e, 1e-5);
    cudaFree(dblocks); cudaFree(dq); cudaFree(dd); cudaFree(dx); cudaFree(dy); cudaFree(db);
}

struct Shape { const char* name; int N, K; int perLayer; };

int main() {
    int sms = smCount();
    uint64_t seed = (uint64_t)time(nullptr);
    printf("seed %llu, %d SMs\n", (unsigned long long)seed, sms);
    double bw = copyBandwidth();
    printf("COPY  device-to-device %.0f GB/s (read + write)\n", bw / 1e9);

    int s = 0;
    for (int M : {1, 2, 3, 4, 8})
        for (int wpr : {1, 8}) {
            checkBf(M, 1001, 3584, wpr, M % 2 == 1, seed + s++);
            checkQ(M, 999, 3584, wpr, M % 2 == 0, seed + s++);
        }
    checkBf(1, 512, 18944, 4, true, seed + s++);
    checkQ(1, 512, 18944, 2, false, seed + s++);
    checkBf(5, 37, 264, 2, true, seed + s++);
    checkQ(7, 37, 288, 4, true, seed + s++);

    // Speed: the 7B thinker's projections.
    std::vector<Shape> shapes = {
        {"q/o 3584x3584", 3584, 3584, 2}, {"k/v 512x3584", 512, 3584, 2}, {"gate/up 18944x3584", 18944, 3584, 2},
        {"down 3584x18944", 3584, 18944, 1}, {"lm_head 152064x3584", 152064, 3584, 0},
    };
    const int layers = 28;
    size_t totalParams = 0;
    for (auto& sh : shapes) totalParams += (size_t)sh.N * sh.K * (sh.perLayer ? sh.perLayer * layers : 1);
    printf("7B thinker decode weights: %.3f G params = %.2f GB bf16, %.2f GB Q8_0\n", totalParams / 1e9,
           totalParams * 2 / 1e9, totalParams * 34.0 / 32 / 1e9);
    // One buffer holding every weight of the model once (distinct weights, as in a real token).
    uint16_t* wAll; signed char* qAll; uint16_t* dAll;
    CK(cudaMalloc(&wAll, totalParams * 2)); CK(cudaMalloc(&qAll, totalParams)); CK(cudaMalloc(&dAll, totalParams / 32 * 2));
    fill_random_bytes<<<4096, 256>>>((uint32_t*)wAll, totalParams / 2, 1234u);
    fix_bf16_range<<<4096, 256>>>(wAll, totalParams);
    fill_random_bytes<<<4096, 256>>>((uint32_t*)qAll, totalParams / 4, 777u);
    fill_random_bytes<<<4096, 256>>>((uint32_t*)dAll, totalParams / 32 / 2, 99u);
    fix_f16_scales<<<4096, 256>>>(dAll, totalParams / 32);
    CKL();
    float *x, *y;
    CK(cudaMalloc(&x, 8 * 18944 * 4)); CK(cudaMalloc(&y, 8 * 152064 * 4));
    fill_uniform_f32<<<256, 256>>>(x, 8 * 18944, 1.f, 5u);
    CK(cudaDeviceSynchronize());

    Timer t;
    printf("%-22s %3s %4s %9s %9s %7s   %9s %9s %7s\n", "shape", "M", "wpr", "bf16 us", "GB/s", "roof", "q8_0 us", "GB/s", "roof");
    for (auto& sh : shapes) {
        size_t per = (size_t)sh.N * sh.K;
        int copies = (int)std::max<size_t>(1, std::min<size_t>(totalParams / per, ((size_t)1 << 30) / per + 1));
        for (int M : {1, 4, 8}) {
            int best = chooseWpr(sh.N, sms), bestQ = chooseWpr(sh.N, sms, true);
            for (int wpr : {1, 2, 4, 8}) {
                if (M > 1 && wpr != best && wpr != bestQ) continue;
                int i = 0;
                float msB = t.median([&] {
                    pickBf(M)<<<blocksFor(sh.N, wpr), 256>>>(x, sh.K, wAll + per * (i % copies), nullptr, y, sh.N, M,
                                                             sh.N, sh.K, wpr);
                    ++i;
                }, 10, copies, 1);
                i = 0;
                float msQ = t.median([&] {
                    size_t o = per * (i % copies);
                    pickQ(M)<<<blocksFor(sh.N, wpr), 256>>>(x, sh.K, qAll + o, dAll + o / 32, nullptr, y, sh.N, M, sh.N,
                                                             sh.K, wpr);
                    ++i;
                }, 10, copies, 1);
                double bB = per * 2.0, bQ = per * 34.0 / 32;
                printf("%-22s %3d %4d%s %8.1f %9.0f %6.1f%%   %9.1f %9.0f %6.1f%%\n", sh.name, M, wpr,
                       wpr == best ? (wpr == bestQ ? "*" : "b") : (wpr == bestQ ? "q" : " "), msB * 1e3, bB / (msB * 1e-3) / 1e9, 100 * bB / (msB * 1e-3) / bw,
                       msQ * 1e3, bQ / (msQ * 1e-3) / 1e9, 100 * bQ / (msQ * 1e-3) / bw);
            }
        }
    }
    // dp4a Q8_0 (activations quantized per 32) against the f32-activation Q8_0 kernel on one shape.
    signed char* xq; float* xd;
    CK(cudaMalloc(&xq, 8 * 18944)); CK(cudaMalloc(&xd, 8 * 18944 / 32 * 4));
    {
        const int N = 3584, K = 3584, wpr = chooseWpr(N, sms, true);
        float* y2; CK(cudaMalloc(&y2, N * 4));
        pickQ(1)<<<blocksFor(N, wpr), 256>>>(x, K, qAll, dAll, nullptr, y, N, 1, N, K, wpr);
        omni_quantize_q8_rows<<<(K + 255) / 256, 256>>>(x, K, 1, K, xq, xd);
        omni_gemv_q8_0_dp4a_m1<<<blocksFor(N, wpr), 256>>>(xq, xd, qAll, dAll, nullptr, y2, N, 1, N, K, wpr);
        CK(cudaDeviceSynchronize());
        std::vector<float> a(N), b(N);
        CK(cudaMemcpy(a.data(), y, N * 4, cudaMemcpyDeviceToHost)); CK(cudaMemcpy(b.data(), y2, N * 4, cudaMemcpyDeviceToHost));
        double num = 0, den = 0;
        for (int i = 0; i < N; ++i) { num = std::max(num, (double)fabs(a[i] - b[i])); den = std::max(den, (double)fabs(a[i])); }
        printf("dp4a q8_0 vs f32-activation q8_0 (3584x3584): rel max err %.2e (%s, bound 2e-2)\n", num / den,
               num / den <= 2e-2 ? "ok" : "FAIL");
        if (!(num / den <= 2e-2)) ++g_failures;
        CK(cudaFree(y2));
    }
    // One token: every projection of every layer once, distinct weights, chosen split; M = 1. Variant 2: dp4a.
    for (int q8 = 0; q8 < 3; ++q8) {
        QFn qf = pickQ(1);
        auto token = [&] {
            size_t o = 0;
            for (int l = 0; l <= layers; ++l)
                for (auto& sh : shapes) {
                    int reps = l == layers ? (sh.perLayer == 0) : sh.perLayer;
                    for (int r = 0; r < reps; ++r) {
                        int wpr = chooseWpr(sh.N, sms, q8);
                        if (q8 == 2) {
                            omni_quantize_q8_rows<<<(sh.K + 255) / 256, 256>>>(x, sh.K, 1, sh.K, xq, xd);
                            omni_gemv_q8_0_dp4a_m1<<<blocksFor(sh.N, wpr), 256>>>(xq, xd, qAll + o, dAll + o / 32, nullptr,
                                                                                   y, sh.N, 1, sh.N, sh.K, wpr);
                        } else if (q8) qf<<<blocksFor(sh.N, wpr), 256>>>(x, sh.K, qAll + o, dAll + o / 32, nullptr, y, sh.N,
                                                                         1, sh.N, sh.K, wpr);
                        else pickBf(1)<<<blocksFor(sh.N, wpr), 256>>>(x, sh.K, wAll + o, nullptr, y, sh.N, 1, sh.N, sh.K, wpr);
                        o += (size_t)sh.N * sh.K;
                    }
                }
        };
        // Capture one token as a CUDA graph (as decode will replay it) and time the replays.
        cudaStream_t st; CK(cudaStreamCreate(&st));
        cudaGraph_t g; cudaGraphExec_t ge;
        CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
        // Launches go to the legacy stream inside token(); capture needs them on st, so relaunch there.
        {
            size_t o = 0;
            for (int l = 0; l <= layers; ++l)
                for (auto& sh : shapes) {
                    int reps = l == layers ? (sh.perLayer == 0) : sh.perLayer;
                    for (int r = 0; r < reps; ++r) {
                        int wpr = chooseWpr(sh.N, sms, q8);
                        if (q8 == 2) {
                            omni_quantize_q8_rows<<<(sh.K + 255) / 256, 256, 0, st>>>(x, sh.K, 1, sh.K, xq, xd);
                            omni_gemv_q8_0_dp4a_m1<<<blocksFor(sh.N, wpr), 256, 0, st>>>(xq, xd, qAll + o, dAll + o / 32,
                                                                                          nullptr, y, sh.N, 1, sh.N, sh.K, wpr);
                        } else if (q8) qf<<<blocksFor(sh.N, wpr), 256, 0, st>>>(x, sh.K, qAll + o, dAll + o / 32, nullptr, y,
                                                                                sh.N, 1, sh.N, sh.K, wpr);
                        else pickBf(1)<<<blocksFor(sh.N, wpr), 256, 0, st>>>(x, sh.K, wAll + o, nullptr, y, sh.N, 1, sh.N,
                                                                              sh.K, wpr);
                        o += (size_t)sh.N * sh.K;
                    }
                }
        }
        CK(cudaStreamEndCapture(st, &g));
        CK(cudaGraphInstantiate(&ge, g, 0));
        float msPlain = t.median(token, 5, 1, 1);
        float msGraph = t.median([&] { CK(cudaGraphLaunch(ge, 0)); }, 7, 1, 2);
        double bytes = q8 ? totalParams * 34.0 / 32 : totalParams * 2.0;
        printf("TOKEN %-6s all GEMVs of one 7B decode token: %.3f ms launched, %.3f ms graph = %.0f GB/s = %.1f%% of "
               "copy bw -> %.0f tokens/s GEMV-only bound\n",
               q8 == 2 ? "dp4a" : q8 ? "q8_0" : "bf16", msPlain, msGraph, bytes / (msGraph * 1e-3) / 1e9,
               100 * bytes / (msGraph * 1e-3) / bw, 1e3 / msGraph);
        CK(cudaGraphExecDestroy(ge)); CK(cudaGraphDestroy(g)); CK(cudaStreamDestroy(st));
    }
    printf("gemv: %d check(s) failed\n", g_failures);
    return g_failures ? 1 : 0;
}
