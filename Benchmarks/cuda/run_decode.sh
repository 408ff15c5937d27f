#!/usr/bin/env bash
# Decode on the H200: the 7B thinker shapes (random bf16 weights, Benchmarks/make_synthetic_omni7b.py), batch 1,
# 128 new tokens from an empty cache (llama-bench's tg128), bf16 and Q8_0 weights, each with CUDA graphs (one replay
# per token, the default) and without (OMNI_CUDA_GRAPHS=0: the same recorded kernels launched one by one), and the
# path before both, in rounds A B A B. Prints each row and a table of medians with the roofline fraction (weight bytes on the GPU over
# 4.26 TB/s, the H200's measured device-to-device copy bandwidth).
#
#   bash Benchmarks/cuda/run_decode.sh OMNI [ROUNDS]     (OMNI: the binary or its .xz; logs under $OUT)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTDIR=${OUT:-/tmp/omni-h200}
mkdir -p "$OUTDIR"
BIN=$1; ROUNDS=${2:-2}
if [[ "$BIN" == *.xz ]]; then mkdir -p /tmp/omni-bin; xz -dc "$BIN" >/tmp/omni-bin/omni; chmod +x /tmp/omni-bin/omni; BIN=/tmp/omni-bin/omni; fi
CKPT=/tmp/omni7b
[[ -f $CKPT/config.json ]] || python3 Benchmarks/make_synthetic_omni7b.py $CKPT >"$OUTDIR/synthetic.log" 2>&1
LOG="$OUTDIR/decode.log"
: >"$LOG"
# Rows: weights, graphs on (1) or off (0); bf16+nostep: the path before step mode (OMNI_CUDA_STEP=0: kernels launched
# as the nodes are walked, key ranges uploaded per attention node); q8_0 runs the GEMV by dp4a over activations
# quantized per 32 (the default), q8_0+nodp4a keeps them f32 (OMNI_CUDA_Q8_DP4A=0); +nofuse: without the fused groups
# (add+norm, q/k RoPE, q/k/v and gate/up GEMVs; OMNI_CUDA_FUSE=0); +noregs: RMSNorm rows not held in registers
# (OMNI_CUDA_NORM_REGS=0); +nopdl: no programmatic dependent launches (OMNI_CUDA_PDL=0);
# +norc: the q/k RoPE and the cache write as two launches (OMNI_CUDA_ROPE_CACHE=0).
# DECODE_ROWS="label:graphs …" picks rows.
for r in $(seq 1 "$ROUNDS"); do
    for row in ${DECODE_ROWS:-bf16:1 bf16+nofuse:1 q8_0:1 q8_0+nofuse:1 q8_0+nodp4a:1}; do
        label=${row%%:*}; graphs=${row##*:}; dp4a=1; stepmode=1; fuse=1; regs=1; pdl=1
        [[ $label == *+nodp4a* ]] && dp4a=0
        [[ $label == *+noregs* ]] && regs=0
        [[ $label == *+nopdl* ]] && pdl=0
        rc=1; [[ $label == *+norc* ]] && rc=0
        [[ $label == *+nostep* ]] && stepmode=0
        [[ $label == *+nofuse* ]] && fuse=0
        w=${label%%+*}
        echo "[$label graphs=$graphs round $r]" >>"$LOG"
        OMNI_CUDA_ROPE_CACHE=$rc OMNI_CUDA_NORM_REGS=$regs OMNI_CUDA_PDL=$pdl OMNI_CUDA_FUSE=$fuse OMNI_CUDA_STEP=$stepmode OMNI_CUDA_GRAPHS=$graphs OMNI_CUDA_Q8_DP4A=$dp4a OMNI_CUDA_TRACE=1 "$BIN" bench decode $CKPT --dtype thinker=$w \
            --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 >>"$LOG" 2>&1
        echo "[$label graphs=$graphs round $r] $(grep '^decode' "$LOG" | tail -1)"
    done
done
python3 - "$LOG" <<'EOF'
import re, statistics, sys
rows, weights, key = {}, {}, None
for line in open(sys.argv[1]):
    m = re.match(r"\[(\S+) graphs=(\d) round (\d+)\]$", line.strip())
    if m: key = (m.group(1), m.group(2))
    m = re.match(r"decode: ([0-9.]+) tokens/s", line)
    if m and key: rows.setdefault(key, []).append(float(m.group(1)))
    m = re.match(r"\s*weights: ([0-9.]+) (GiB|MiB)", line)
    if m and key: weights[key[0]] = weights[key[0].split("+")[0]] = float(m.group(1)) * (2**30 if m.group(2) == "GiB" else 2**20)
llama = {"bf16": 194, "q8_0": 252}
print(f"{'row':<16} {'graphs':>6} {'tokens/s':>9} {'roofline':>9} {'llama.cpp (issue)':>18}")
for (w, g), v in sorted(rows.items()):
    med = statistics.median(v)
    roof = 4.26e12 / weights[w] if w in weights else None
    frac = f"{med / roof:.0%}" if roof else "-"
    print(f"{w:<16} {'on' if g == '1' else 'off':>6} {med:>9.1f} {frac:>9} {llama[w.split('+')[0]]:>18}")
print("roofline: weight bytes on the GPU / 4.26 TB/s; medians over rounds of the per-run medians")
EOF
