#!/usr/bin/env python3
"""Compares `omni forward` outputs (GPU, f32 and bf16 compute) with the fixture references; prints one table.

usage: cuda_parity.py OUTDIR CASE... where OUTDIR holds <mode>_<case>.safetensors written by
scripts/cuda_gpu_check.sh and CASE is model-dir:reference-file:label. Needs numpy only.
"""
import json, os, struct, sys
import numpy as np

def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}[v["dtype"]]
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"])
    return out

def rel(got, want):
    return float(np.max(np.abs(got.astype(np.float64) - want)) / max(np.max(np.abs(want)), 1e-30))

if sys.argv[1] == "--t2w":
    ref = load(sys.argv[2])
    ok = True
    for path in sys.argv[3:]:
        try:
            got = load(path)
        except OSError:
            print(f"{path}: missing"); ok = False; continue
        e1, e2 = rel(got["mel"], ref["mel"]), rel(got["waveform"], ref["waveform"])
        good = e1 <= 1e-3 and e2 <= 1e-3
        ok &= good
        print(f"{path.rsplit('/', 1)[-1]:40} mel {e1:.3e} waveform {e2:.3e} bound 1e-3  {'ok' if good else 'FAIL'}")
    sys.exit(0 if ok else 1)

outdir = sys.argv[1]
ok = True
print(f"{'case':28} {'mode':7} {'logits rel err':>15} {'last_hidden':>12} {'bound':>6}  result")
for spec in sys.argv[2:]:
    _, refpath, label = spec.split(":")
    ref = load(refpath)
    want = ref["logits"] if "logits" in ref else ref["logits_tail"]
    modes = os.environ.get("FORWARD_MODES", "cpu f32 bf16").split()
    for mode, bound in ((m, b) for m, b in (("cpu", 1e-4), ("cpubf16", 2e-2), ("f32", 1e-4), ("bf16", 2e-2)) if m in modes):
        try:
            got = load(f"{outdir}/{mode}_{label}.safetensors")
        except OSError:
            print(f"{label:28} {mode:7} {'missing':>15}")
            ok = False
            continue
        logits = got["logits"][-want.shape[0]:]
        e1, e2 = rel(logits, want), rel(got["last_hidden"], ref["last_hidden"])
        good = e1 <= bound and e2 <= bound and np.array_equal(got["position_ids"], ref["position_ids"])
        ok &= good
        print(f"{label:28} {mode:7} {e1:15.3e} {e2:12.3e} {bound:6.0e}  {'ok' if good else 'FAIL'}")
sys.exit(0 if ok else 1)
