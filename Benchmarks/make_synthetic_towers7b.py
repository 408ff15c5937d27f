"""Writes a synthetic checkpoint for the tower benchmarks: the audio and vision towers with the real
Qwen2.5-Omni-7B shapes (random bf16, N(0, 0.02), norms 1) and a one-layer thinker of the 7B width (the loader wants a
thinker; `omni bench towers` never runs it). About 5.4 GB instead of the whole 21.5 GB checkpoint, so the tower
benchmark fits on a shared machine. No talker or token2wav (enable_audio_output false).

    python3 Benchmarks/make_synthetic_towers7b.py OUTDIR

The towers' tensors and config are exactly those of Benchmarks/make_synthetic_omni7b.py (same shapes file, same
config apart from the thinker's layer count).
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shapes = json.load(open(os.path.join(here, "omni7b_shapes.json")))
config = json.load(open(os.path.join(here, "omni7b_config.json")))
config["thinker_config"]["text_config"]["num_hidden_layers"] = 1
config["enable_audio_output"] = False
keep = ("thinker.audio_tower.", "thinker.visual.", "thinker.model.layers.0.", "thinker.model.embed_tokens.",
        "thinker.model.norm.", "thinker.lm_head.")
names = sorted(k for k in shapes if k.startswith(keep))

rng = np.random.default_rng(0)
pool_n = 1 << 26
pool = (rng.standard_normal(pool_n, dtype=np.float32) * 0.02).view(np.uint32)
pool = ((pool + 0x7FFF + ((pool >> 16) & 1)) >> 16).astype(np.uint16)   # f32 -> bf16, round to nearest even
one = np.uint16(0x3F80)


def tensor_bytes(name, shape):
    n = int(np.prod(shape)) if shape else 1
    if name.endswith("norm.weight") or "layernorm" in name or name.endswith("ln_q.weight"):
        return np.full(n, one, dtype=np.uint16).tobytes()
    parts, left = [], n
    while left > 0:
        take = min(left, pool_n // 2)
        start = int(rng.integers(0, pool_n - take + 1))
        parts.append(pool[start:start + take])
        left -= take
    return np.concatenate(parts).tobytes() if len(parts) > 1 else parts[0].tobytes()


header, off = {"__metadata__": {"format": "pt"}}, 0
for k in names:
    n = int(np.prod(shapes[k])) * 2
    header[k] = {"dtype": "BF16", "shape": shapes[k], "data_offsets": [off, off + n]}
    off += n
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
tmp = os.path.join(out, "model.safetensors.tmp")
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for k in names:
        f.write(tensor_bytes(k, shapes[k]))
os.replace(tmp, os.path.join(out, "model.safetensors"))
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)
tiny = os.path.join(here, "..", "Models", "tiny-omni")
for f in ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"]:
    shutil.copy(os.path.join(tiny, f), os.path.join(out, f))
print(f"wrote {len(names)} tensors, {off / 1e9:.2f} GB")
