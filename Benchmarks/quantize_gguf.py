#!/usr/bin/env python3
"""Quantizes a GGUF file with llama.cpp's own quantizer (llama-cpp-python's `llama_model_quantize`, the code
behind `llama-quantize`) and lists the tensor types the result holds, so the k-quant files we read are the ones
people have.

    python3 Benchmarks/quantize_gguf.py IN.gguf OUT.gguf [--type Q4_K_M] [--threads 2]

Types: Q4_K_M, Q4_K_S, Q6_K, Q5_0, Q8_0, Q4_0. For Qwen2.5-0.5B's shapes most rows have 896 columns, which is
not a multiple of 256: llama.cpp then writes a fallback type for those tensors (Q5_0 for Q4_K, Q8_0 for Q6_K),
and the listing shows it. Needs llama-cpp-python and gguf.
"""
import argparse
import collections
import sys

FTYPES = {"Q4_0": 2, "Q8_0": 7, "Q5_0": 8, "Q6_K": 18, "Q4_K_S": 14, "Q4_K_M": 15}


def list_types(path):
    """{ggml type name: [tensor names]} of a GGUF file."""
    import gguf
    r = gguf.GGUFReader(path)
    by = collections.defaultdict(list)
    for t in r.tensors:
        by[t.tensor_type.name].append(t.name)
    return by


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--type", default="Q4_K_M", choices=sorted(FTYPES))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import llama_cpp
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = FTYPES[args.type]
    params.nthread = args.threads
    rc = llama_cpp.llama_model_quantize(args.input.encode(), args.output.encode(), params)
    if rc != 0:
        print(f"llama_model_quantize failed: {rc}", file=sys.stderr)
        return 1
    for name, tensors in sorted(list_types(args.output).items()):
        kinds = collections.Counter(".".join(t.split(".")[2:]) if t.startswith("blk.") else t for t in tensors)
        print(f"{name:6} {len(tensors):4} tensors: " + ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
