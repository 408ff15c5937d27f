"""The synthetic Qwen2.5-Omni-7B thinker the CUDA peers build (bench_transformers.py, bench_long_video.py): transformers'
Qwen2_5OmniThinkerForConditionalGeneration from Benchmarks/omni7b_config.json on the meta device, `to_empty` on the
target device, random N(0, 0.02) bf16 weights with norms at 1 and the rotary/positional buffers recomputed. `tiny`
shrinks every part for a CPU check of the scripts."""
import json
import math
import os

import torch
from transformers import Qwen2_5OmniThinkerConfig
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M

here = os.path.dirname(os.path.abspath(__file__))


def sync(dev):
    """Waits for the GPU's queued work (nothing to wait for on the CPU)."""
    if dev.type == "cuda":
        torch.cuda.synchronize()


def emit(**row):
    """One JSON row on stdout, marked as transformers' (the drivers read these lines)."""
    row.setdefault("impl", "transformers")
    print(json.dumps(row), flush=True)


def make_config(tiny=False):
    full = json.load(open(os.path.join(here, "..", "omni7b_config.json")))
    cfg = Qwen2_5OmniThinkerConfig(**full["thinker_config"])
    if tiny:
        t = cfg.text_config
        t.hidden_size, t.intermediate_size, t.num_hidden_layers = 512, 256, 2
        t.num_attention_heads, t.num_key_value_heads = 4, 2
        if getattr(t, "layer_types", None):
            t.layer_types = t.layer_types[:2]
        a = cfg.audio_config
        a.d_model, a.encoder_ffn_dim, a.encoder_layers, a.encoder_attention_heads, a.output_dim = 64, 128, 2, 4, 512
        v = cfg.vision_config
        v.hidden_size, v.intermediate_size, v.depth, v.num_heads, v.out_hidden_size = 64, 128, 2, 4, 512
        v.fullatt_block_indexes = [1]
    return cfg


def init_(model, dev):
    """normal(0, 0.02) weights, norms 1; then the buffers to_empty() left uninitialised """
    with torch.no_grad():
        for name, prm in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name or name.endswith("ln_q.weight") or (
                    "norm" in name and name.endswith(".weight") and prm.dim() == 1):
                prm.fill_(1.0)
            else:
                prm.normal_(0.0, 0.02)
        for mod in model.modules():
            if hasattr(mod, "inv_freq") and hasattr(mod, "rope_init_fn"):
                inv, scaling = mod.rope_init_fn(mod.config, dev)
                mod.inv_freq = inv
                if hasattr(mod, "original_inv_freq"):
                    mod.original_inv_freq = inv
                mod.attention_scaling = scaling
            elif hasattr(mod, "inv_freq") and hasattr(mod, "dim") and hasattr(mod, "theta"):
                mod.inv_freq = 1.0 / (mod.theta ** (torch.arange(0, mod.dim, 2, dtype=torch.float, device=dev) / mod.dim))
            elif hasattr(mod, "inv_freq"):
                n = mod.inv_freq.numel()
                mod.inv_freq = 1.0 / (10000 ** (torch.arange(0, 2 * n, 2, dtype=torch.float, device=dev) / (2 * n)))
            if hasattr(mod, "positional_embedding") and isinstance(getattr(mod, "positional_embedding"), torch.Tensor):
                length, channels = mod.positional_embedding.shape
                inc = math.log(10000) / (channels // 2 - 1)
                inv = torch.exp(-inc * torch.arange(channels // 2, device=dev).float())
                t = torch.arange(length, device=dev)[:, None].float() * inv[None, :]
                mod.positional_embedding = torch.cat([torch.sin(t), torch.cos(t)], dim=1).to(mod.positional_embedding.dtype)


def build(attn, dev, tiny=False):
    """The thinker on `dev`: built on the meta device, `to_empty`, then `init_` (no weights are read or written)."""
    cfg = make_config(tiny)
    cfg._attn_implementation = attn
    for sub in (cfg.text_config, cfg.audio_config, cfg.vision_config):
        sub._attn_implementation = attn
    with torch.device("meta"):
        model = M.Qwen2_5OmniThinkerForConditionalGeneration._from_config(cfg, dtype=torch.bfloat16,
                                                                           attn_implementation=attn)
    model = model.to_empty(device=dev)
    init_(model, dev)
    model.eval()
    return model, cfg
