"""Kernel-level peer for bench_flash: torch's scaled_dot_product_attention (the kernel transformers' sdpa rows use)
on the same shapes, bf16 q/k/v laid out [1, heads, T, D], causal, GQA through enable_gqa. Prints one JSON line per
shape with the median time of 10 CUDA-event-timed calls and TFLOP/s counting 4·D per visible (query, key) pair.

    python3 Benchmarks/cuda/bench_sdpa.py
"""
import json

import torch
import torch.nn.functional as F

dev = "cuda"
cases = [("thinker-causal", 512, 28, 4, 128, True), ("thinker-causal", 2048, 28, 4, 128, True),
         ("thinker-causal", 8192, 28, 4, 128, True), ("thinker-full", 8192, 28, 4, 128, False),
         ("vision-448", 1024, 16, 16, 80, False)]
for name, T, H, KV, D, causal in cases:
    q = torch.randn(1, H, T, D, device=dev, dtype=torch.bfloat16)
    k = torch.randn(1, KV, T, D, device=dev, dtype=torch.bfloat16)
    v = torch.randn(1, KV, T, D, device=dev, dtype=torch.bfloat16)
    fn = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=KV != H)
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b))
    ms = sorted(ts)[len(ts) // 2]
    pairs = T * (T + 1) / 2 if causal else T * T
    print(json.dumps({"row": "sdpa", "case": name, "T": T, "H": H, "KV": KV, "D": D, "ms": round(ms, 4),
                      "tflops": round(4 * pairs * D * H / (ms * 1e-3) / 1e12, 1)}), flush=True)
