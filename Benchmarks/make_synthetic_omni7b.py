"""Writes a synthetic checkpoint with the real Qwen2.5-Omni-7B shapes: random bf16 weights (N(0, 0.02), norms 1),
sharded like the published one (5 shards + model.safetensors.index.json), the published-layout config, and the
tiny fixture's tokenizer (benchmarks feed token ids; the vocabulary only has to be smaller than the model's).

    python3 Benchmarks/make_synthetic_omni7b.py OUTDIR

Shapes and config come from Benchmarks/omni7b_shapes.json and omni7b_config.json, dumped from transformers 5.17
on the meta device by Benchmarks/dump_omni7b_shapes.py (10.73 B parameters, 2447 tensors, about 21.5 GB).
Values are drawn once into a pool and reused with random offsets: memory figures do not depend on the values.
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

names = sorted(shapes)
total = sum(int(np.prod(shapes[k])) * 2 for k in names)
shard_target = (total + 4) // 5
shards, cur, size = [], [], 0
for k in names:
    b = int(np.prod(shapes[k])) * 2
    if cur and size + b > shard_target and len(shards) < 4:
        shards.append(cur); cur, size = [], 0
    cur.append(k); size += b
shards.append(cur)

weight_map = {}
for i, keys in enumerate(shards):
    fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for k in keys:
        n = int(np.prod(shapes[k])) * 2
        header[k] = {"dtype": "BF16", "shape": shapes[k], "data_offsets": [off, off + n]}
        off += n
        weight_map[k] = fname
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = os.path.join(out, fname + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for k in keys:
            f.write(tensor_bytes(k, shapes[k]))
    os.replace(tmp, os.path.join(out, fname))
    print(f"wrote {fname}: {len(keys)} tensors, {off / 1e9:.2f} GB", flush=True)

json.dump({"metadata": {"total_size": total}, "weight_map": weight_map},
          open(os.path.join(out, "model.safetensors.index.json"), "w"), indent=1)
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)
tiny = os.path.join(here, "..", "Models", "tiny-omni")
for f in ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"]:
    shutil.copy(os.path.join(tiny, f), os.path.join(out, f))
print(f"total {total / 1e9:.2f} GB in {len(shards)} shards")
