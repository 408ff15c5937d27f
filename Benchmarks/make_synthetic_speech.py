"""Writes a synthetic speech-only checkpoint with the real Qwen2.5-Omni-7B talker and token2wav shapes: every
`talker.*` and `token2wav.*` tensor of Benchmarks/omni7b_shapes.json as random bf16 (N(0, 0.02), norms 1, as
make_synthetic_omni7b.py draws them), the published-layout config.json (omni7b_config.json) and a one-voice
spk_dict.safetensors ("Synthetic": bos_token, cond [192], ref_mel [1, 300, 80]). 1.8 B parameters, 3.6 GB.

    python3 Benchmarks/make_synthetic_speech.py OUTDIR

Both sides of the speech benchmark load these same files: `omni bench talker|token2wav|speak --model OUTDIR` and
Benchmarks/bench_speech_transformers.py OUTDIR (transformers' Qwen2_5OmniTalkerForConditionalGeneration and
Qwen2_5OmniToken2WavModel).
"""
import json
import os
import struct
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shapes = json.load(open(os.path.join(here, "omni7b_shapes.json")))
config = json.load(open(os.path.join(here, "omni7b_config.json")))
keys = sorted(k for k in shapes if k.startswith("talker.") or k.startswith("token2wav."))

rng = np.random.default_rng(0)
pool_n = 1 << 24
pool = (rng.standard_normal(pool_n, dtype=np.float32) * 0.02).view(np.uint32)
pool = ((pool + 0x7FFF + ((pool >> 16) & 1)) >> 16).astype(np.uint16)   # f32 -> bf16, round to nearest even
one = np.uint16(0x3F80)


def tensor_bytes(name, shape):
    n = int(np.prod(shape)) if shape else 1
    if name.endswith("norm.weight") or "layernorm" in name:
        return np.full(n, one, dtype=np.uint16).tobytes()
    parts, left = [], n
    while left > 0:
        take = min(left, pool_n // 2)
        start = int(rng.integers(0, pool_n - take + 1))
        parts.append(pool[start:start + take])
        left -= take
    return np.concatenate(parts).tobytes() if len(parts) > 1 else parts[0].tobytes()


def write_safetensors(path, entries):
    """entries: [(name, dtype string, shape, bytes)] written in order, header padded to 8 bytes."""
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, data in entries:
            f.write(data)
    os.replace(path + ".tmp", path)
    return off


total = write_safetensors(os.path.join(out, "model.safetensors"),
                          [(k, "BF16", shapes[k], tensor_bytes(k, shapes[k])) for k in keys])
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)
voice = np.random.default_rng(1)
write_safetensors(os.path.join(out, "spk_dict.safetensors"), [
    ("Synthetic.bos_token", "I64", [1], np.array([151870], dtype="<i8").tobytes()),
    ("Synthetic.cond", "F32", [192], voice.standard_normal(192, dtype=np.float32).tobytes()),
    ("Synthetic.ref_mel", "F32", [1, 300, 80], (voice.standard_normal(300 * 80, dtype=np.float32) - 5).tobytes()),
])
print(f"wrote {len(keys)} tensors, {total / 1e9:.2f} GB, to {out}")
