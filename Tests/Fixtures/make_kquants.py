#!/usr/bin/env python3
"""Writes Tests/Fixtures/kquants/kquants.gguf: Q4_K, Q6_K and Q5_0 tensors and, next to each, gguf-py's
dequantization of it (`gguf.quants.dequantize`) as F32, so the Swift tests check ours bit for bit.

    python3 Tests/Fixtures/make_kquants.py [OUT.gguf]     (needs numpy and gguf; made with gguf 0.19.0)

Blocks are random bytes (every scale, min, high-bit and nibble pattern occurs) whose f16 scales are replaced by
finite values of either sign over a wide range, subnormals and zero included, so nothing depends on how NaN or
infinity multiply. Tensor `NAME` holds the blocks (rows × columns, columns a multiple of the block size) and
`NAME.f32` the reference values. A handful of KiB.
"""
import os
import sys

import numpy as np
import gguf

Q = gguf.GGMLQuantizationType
# (name, type, rows, columns, block bytes, byte offsets of the f16 scales in a block)
TENSORS = [
    ("q4_k", Q.Q4_K, 3, 512, 144, [0, 2]),
    ("q6_k", Q.Q6_K, 3, 512, 210, [208]),
    ("q5_0", Q.Q5_0, 3, 96, 22, [0]),
]


def f16_scales(rng, n):
    """Finite f16 values: mostly 1e-4 … 1e-1 of either sign, some subnormal, some zero, some large."""
    v = rng.uniform(-4, -1, n)
    out = (10.0 ** v) * rng.choice([-1.0, 1.0], n)
    kind = rng.integers(0, 20, n)
    out[kind == 0] = 0.0
    out[kind == 1] = rng.uniform(-6e-5, 6e-5, (kind == 1).sum())   # f16 subnormals
    out[kind == 2] = rng.uniform(-600, 600, (kind == 2).sum())
    return out.astype(np.float16)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "kquants", "kquants.gguf")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    rng = np.random.default_rng(16)
    w = gguf.GGUFWriter(out, "kquants-fixture")
    w.add_string("omni.fixture", "make_kquants.py: k-quant blocks and gguf-py's dequantization of them")
    for name, qtype, rows, cols, bbytes, scale_offsets in TENSORS:
        bs, _ = gguf.GGML_QUANT_SIZES[qtype]
        assert cols % bs == 0
        nblocks = rows * cols // bs
        blocks = rng.integers(0, 256, (nblocks, bbytes), dtype=np.uint8)
        for off in scale_offsets:
            blocks[:, off:off + 2] = f16_scales(rng, nblocks).view(np.uint8).reshape(nblocks, 2)
        raw = blocks.reshape(rows, cols // bs * bbytes)
        ref = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(rows, cols)
        assert np.isfinite(ref).all()
        w.add_tensor(name, raw, raw_dtype=qtype)
        w.add_tensor(name + ".f32", ref)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
