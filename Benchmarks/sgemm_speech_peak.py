"""The peer's own GEMM on the shapes of Benchmarks/sgemm_speech_peak.c: torch.nn.functional.linear for the DiT's and
the towers' linears, torch.nn.functional.conv1d (what transformers' BigVGAN calls) for the resblock convolutions,
f32, best of 3, at 1 and 2 threads. Prints GFLOP/s per shape.

    python3 Benchmarks/sgemm_speech_peak.py
"""
import time

import torch
import torch.nn.functional as F

linears = [("DiT q/k/v/o 2000x1024x1024", 2000, 1024, 1024), ("DiT ff up 2000x2048x1024", 2000, 2048, 1024),
           ("DiT ff down 2000x1024x2048", 2000, 1024, 2048), ("audio q/k/v/o 1500x1280x1280", 1500, 1280, 1280),
           ("audio fc1 1500x5120x1280", 1500, 5120, 1280), ("vision gate/up 1024x3420x1280", 1024, 3420, 1280)]
# (name, channels, length, kernel, dilation): stride 1, "same" padding, as BigVGAN's resblocks.
convs = [("BigVGAN s0 conv k3 768x5000", 768, 5000, 3, 1), ("BigVGAN s0 conv k11 d5 768x5000", 768, 5000, 11, 5),
         ("BigVGAN s1 conv k7 384x15000", 384, 15000, 7, 1), ("BigVGAN s2 conv k7 192x30000", 192, 30000, 7, 1),
         ("BigVGAN s3 conv k7 96x60000", 96, 60000, 7, 1), ("BigVGAN s4 conv k7 48x120000", 48, 120000, 7, 1),
         ("BigVGAN s5 conv k7 24x240000", 24, 240000, 7, 1)]


def best(f):
    f()
    t = []
    for _ in range(3):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return min(t)


print(f"torch {torch.__version__}, {torch.backends.mkldnn.is_available() and 'mkldnn' or 'no mkldnn'}")
print(f"{'shape':36s} {'1 thread':>10s} {'2 threads':>10s}")
with torch.no_grad():
    for name, m, n, k in linears:
        x, w = torch.rand(m, k) - 0.5, torch.rand(n, k) - 0.5
        out = []
        for th in (1, 2):
            torch.set_num_threads(th)
            out.append(2 * m * n * k / best(lambda: F.linear(x, w)) / 1e9)
        print(f"{name:36s} {out[0]:10.1f} {out[1]:10.1f}", flush=True)
    for name, c, length, k, d in convs:
        x, w = torch.rand(1, c, length) - 0.5, torch.rand(c, c, k) - 0.5
        out = []
        for th in (1, 2):
            torch.set_num_threads(th)
            out.append(2 * c * c * k * length / best(lambda: F.conv1d(x, w, padding=d * (k - 1) // 2, dilation=d)) / 1e9)
        print(f"{name:36s} {out[0]:10.1f} {out[1]:10.1f}", flush=True)
