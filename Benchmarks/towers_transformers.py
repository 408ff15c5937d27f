"""The peer of `omni bench towers`: transformers' Qwen2.5-Omni audio and vision towers, f32 (PyTorch's fastest
dtype on this CPU), random weights with the 7B shapes of Benchmarks/omni7b_config.json, on the same inputs as
`omni bench towers` (30 s of random mel features, one 448×448 image's random patches), median of --runs timed
forwards after one warm-up, torch.set_num_threads(--threads), attention "sdpa". --dtype bf16 runs the towers and
their inputs in bf16 (the peer of `omni bench towers --compute-dtype bf16` on a CPU with bf16 hardware).

    python3 Benchmarks/towers_transformers.py [--audio-seconds 30] [--image-size 448] [--runs 3] [--threads 2] [--dtype f32]

Prints lines in the format of `omni bench towers`.
"""
import argparse
import json
import os
import statistics
import time

import torch
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as m
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import (
    Qwen2_5OmniAudioEncoderConfig, Qwen2_5OmniVisionEncoderConfig)

p = argparse.ArgumentParser()
p.add_argument("--audio-seconds", type=int, default=30)
p.add_argument("--image-size", type=int, default=448)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(5)
here = os.path.dirname(os.path.abspath(__file__))
dt = torch.float32 if a.dtype == "f32" else torch.bfloat16
cfg = json.load(open(os.path.join(here, "omni7b_config.json")))["thinker_config"]


def timed(f):
    s = []
    with torch.inference_mode():
        for r in range(a.runs + 1):
            t0 = time.perf_counter()
            out = f()
            if r > 0:
                s.append(time.perf_counter() - t0)
    return statistics.median(s), out


if a.audio_seconds > 0:
    ac = Qwen2_5OmniAudioEncoderConfig(**{k: v for k, v in cfg["audio_config"].items() if k != "model_type"})
    ac._attn_implementation = "sdpa"
    enc = m.Qwen2_5OmniAudioEncoder(ac).to(dt).eval()
    frames = a.audio_seconds * 100
    feats = (torch.rand(ac.num_mel_bins, frames) * 2 - 1).to(dt)
    lens = torch.tensor([frames])
    s, out = timed(lambda: enc(input_features=feats, feature_lens=lens).last_hidden_state)
    print(f"audio tower: {a.audio_seconds} s of audio → {out.shape[0]} tokens in {s:.3f} s (median of {a.runs}), "
          f"threads {a.threads}, {a.dtype}", flush=True)
    del enc

if a.image_size > 0:
    vc = Qwen2_5OmniVisionEncoderConfig(**{k: v for k, v in cfg["vision_config"].items() if k != "model_type"})
    vc._attn_implementation = "sdpa"
    enc = m.Qwen2_5OmniVisionEncoder(vc).to(dt).eval()
    side = max(28, (a.image_size + 14) // 28 * 28)
    g = side // vc.patch_size
    width = vc.in_channels * vc.temporal_patch_size * vc.patch_size ** 2
    px = (torch.rand(g * g, width) * 2 - 1).to(dt)
    grid = torch.tensor([[1, g, g]])
    s, out = timed(lambda: enc(px, grid_thw=grid).pooler_output)
    print(f"vision tower: {side}×{side} image ({g * g} patches) → {out.shape[0]} tokens in {s:.3f} s "
          f"(median of {a.runs}), threads {a.threads}, {a.dtype}", flush=True)
