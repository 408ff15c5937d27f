#!/usr/bin/env bash
# Checks the CPU kernel paths of an `omni` binary against each other and against the reference fixture on
# whatever x86 machine runs it (written for the AVX-512 hosts this project borrows; CI's machine has AVX2
# only). Needs python3 with numpy and safetensors.
#
#   Benchmarks/check_cpu_paths.sh [OMNI_BINARY]      # default .build/release/omni
#
# 1. `omni bench kernels`: every path against a Float64 reference, then its GB/s.
# 2. `omni forward` on Models/tiny-omni for f32, bf16 and q8_0 weights on the widest path and on AVX2, for the
#    whole prompt (prefill kernels) and its first 2 tokens (decode kernels): f32 against the transformers
#    reference (fixtures tolerance 1e-4 of max|ref|), bf16 and q8_0 between paths.
set -euo pipefail
cd "$(dirname "$0")/.."
OMNI=${1:-.build/release/omni}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

grep -m1 -o 'avx512[a-z_0-9]*' /proc/cpuinfo >/dev/null && grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^avx512(f|bw|vl|_bf16|_vnni)$|^avx_vnni$' | tr '\n' ' '
echo
for t in 1 2 "$(nproc)"; do "$OMNI" bench kernels --threads "$t" --mib 1024; done

python3 - "$OUT" <<'PY'
import sys
from safetensors.numpy import load_file, save_file
ref = load_file("Tests/Fixtures/reference/text.safetensors")
save_file({"input_ids": ref["input_ids"]}, sys.argv[1] + "/in.safetensors")
save_file({"input_ids": ref["input_ids"][:2].copy()}, sys.argv[1] + "/in2.safetensors")
PY
for dt in f32 bf16 q8_0; do
    for path in default avx2; do
        for n in "" 2; do
            env $([[ $path == avx2 ]] && echo OMNI_CPU=avx2) "$OMNI" forward Models/tiny-omni --inputs "$OUT/in$n.safetensors" \
                --out "$OUT/$dt-$path$n.safetensors" --dtype $dt >/dev/null
        done
    done
done
python3 - "$OUT" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
d = sys.argv[1]
ref = load_file("Tests/Fixtures/reference/text.safetensors")
def err(a, b): return float(np.abs(a - b).max() / np.abs(b).max())
bad = False
for dt in ["f32", "bf16", "q8_0"]:
    for n, what in [("", "prefill"), ("2", "decode ")]:
        a, b = load_file(f"{d}/{dt}-default{n}.safetensors"), load_file(f"{d}/{dt}-avx2{n}.safetensors")
        e = err(a["logits"], b["logits"])
        line = f"{dt:5s} {what} widest vs avx2: logits {e:.2e}"
        bad |= e > 1e-4
        if dt == "f32":
            rows = len(a["logits"])
            r = err(a["logits"], ref["logits"][:rows]); bad |= r > 1e-4
            line += f"; vs reference: logits {r:.2e}, last_hidden {err(a['last_hidden'], ref['last_hidden'][:rows]):.2e}"
        print(line)
print("FAILED" if bad else "ok")
sys.exit(1 if bad else 0)
PY
