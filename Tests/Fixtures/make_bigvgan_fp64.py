#!/usr/bin/env python3
"""The BigVGAN waveform of speech.safetensors' mel computed by transformers in float64 (and float32, to print how
far torch's own fp32 result is from it). The vocoder's random-weight SnakeBeta amplifies fp32 rounding, so the
fp32 reference alone cannot separate a bug from rounding; the parity test checks against both.

    python3 Tests/Fixtures/make_bigvgan_fp64.py Models/tiny-omni OUTDIR     # where torch + transformers 5.x are
"""
import json, os, sys, torch
from safetensors.torch import load_file, save_file
from transformers import Qwen2_5OmniConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M
d = sys.argv[1]; out = sys.argv[2]
cfg = Qwen2_5OmniConfig.from_pretrained(d)
sd = {}
idx = json.load(open(f"{d}/model.safetensors.index.json"))["weight_map"]
for f in sorted(set(idx.values())):
    for k, v in load_file(f"{d}/{f}").items():
        if k.startswith("token2wav.code2wav_bigvgan_model."): sd[k[len("token2wav.code2wav_bigvgan_model."):]] = v
ref = load_file("Tests/Fixtures/reference/speech.safetensors")
res = {}
for dt in (torch.float32, torch.float64):
    m = M.Qwen2_5OmniToken2WavBigVGANModel(cfg.token2wav_config.bigvgan_config).eval()
    m.load_state_dict({k: v.to(torch.float32) for k, v in sd.items()}, strict=False)
    m = m.to(dt)
    for mod in m.modules():
        for name, buf in list(mod.named_buffers(recurse=False)):
            setattr(mod, name, buf.to(dt))
    with torch.no_grad():
        w = m(ref["mel"][None].to(dt)).to(torch.float64)
    res[str(dt)] = w
a, b = res["torch.float32"], res["torch.float64"]
fx = ref["waveform"].to(torch.float64)
print("fp32 vs fixture max", float((a - fx).abs().max()), "fp32 vs fp64 rel", float((a - b).abs().max() / b.abs().max()))
save_file({"waveform": b.to(torch.float32).contiguous()}, f"{out}/bigvgan_fp64.safetensors")
