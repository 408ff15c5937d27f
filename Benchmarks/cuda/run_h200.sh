#!/usr/bin/env bash
# The CUDA benchmark on the H200 (run from the repository root on the GPU machine, through the `run` tool):
#
#   bash Benchmarks/cuda/run_h200.sh [--kernels] [--sdpa] [--transformers] [--check BIN] [--omni BIN] [--rounds N]
#
#   --kernels       build Benchmarks/cuda/bench_{flash,decode,gemv}.cu with nvcc (sm_90) and run them: checks
#                   against f64 references and timings of our CUDA kernels (Plugins/DeviceCUDA/kernels).
#   --sdpa          torch's scaled_dot_product_attention on the same attention shapes (kernel against kernel).
#   --transformers  Benchmarks/cuda/bench_transformers.py alone (sdpa and eager; prefill, decode, towers).
#   --check BIN     the cuda-check program (conformance, flash_attention_2 and split-K against GPU eager, GEMV).
#   --omni BIN      the whole-model comparison: writes the synthetic 7B checkpoint with numpy
#                   (Benchmarks/make_synthetic_omni7b.py), then for N rounds runs our
#                   `omni bench prefill/decode/towers … --device-map cuda:0` rows and transformers' sdpa and eager
#                   rows one after the other (A B A B), and prints one table of medians with ratios.
# Everything is logged under $OUT (the run tool's folder) or /tmp/omni-h200; the table is printed last.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTDIR=${OUT:-/tmp/omni-h200}
mkdir -p "$OUTDIR"
KERNELS=0; SDPA=0; TRANSFORMERS=0; OMNI=""; CHECK=""; ROUNDS=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernels) KERNELS=1; shift ;;
        --sdpa) SDPA=1; shift ;;
        --transformers) TRANSFORMERS=1; shift ;;
        --omni) OMNI="$2"; shift 2 ;;
        --check) CHECK="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        *) echo "usage: $0 [--kernels] [--sdpa] [--transformers] [--check BIN] [--omni BIN] [--rounds N]" >&2; exit 2 ;;
    esac
done
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,memory.used --format=csv,noheader | tee "$OUTDIR/gpu.txt"

if [[ $KERNELS == 1 ]]; then
    NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
    B=/tmp/omni-cuda-bench; mkdir -p $B
    t0=$(date +%s)
    for f in flash decode gemv; do
        $NVCC -O3 -std=c++17 -Xcompiler -fopenmp -gencode arch=compute_90a,code=sm_90a -Xptxas -v \
            Benchmarks/cuda/bench_$f.cu -o $B/bench_$f >$B/build_$f.log 2>&1 &
    done
    wait
    echo "nvcc: $(( $(date +%s) - t0 )) s"
    for f in flash decode gemv; do
        [[ -x $B/bench_$f ]] || { echo "build of bench_$f failed:"; tail -20 $B/build_$f.log; continue; }
        $B/bench_$f 2>&1 | tee "$OUTDIR/kernels_$f.log"
        echo "bench_$f rc ${PIPESTATUS[0]}"
    done
    grep -h "Used\|spill" $B/build_*.log | sort | uniq -c | sort -rn | head -5 >"$OUTDIR/ptxas.txt"
fi

if [[ $SDPA == 1 ]]; then
    python3 Benchmarks/cuda/bench_sdpa.py 2>&1 | tee "$OUTDIR/sdpa.jsonl"
fi

if [[ $TRANSFORMERS == 1 ]]; then
    python3 Benchmarks/cuda/bench_transformers.py --towers --runs 3 2>&1 | tee "$OUTDIR/transformers.jsonl"
fi

unpack() {  # a binary, or its .xz, to /tmp/omni-bin/NAME
    mkdir -p /tmp/omni-bin
    local out=/tmp/omni-bin/$(basename "${1%.xz}")
    if [[ "$1" == *.xz ]]; then xz -dc "$1" >"$out"; else cp "$1" "$out"; fi
    chmod +x "$out"; echo "$out"
}

if [[ -n "$CHECK" ]]; then
    "$(unpack "$CHECK")" 2>&1 | tee "$OUTDIR/cuda_check.log"
    echo "cuda-check rc ${PIPESTATUS[0]}"
fi

if [[ -n "$OMNI" ]]; then
    BIN=$(unpack "$OMNI")
    CKPT=/tmp/omni7b
    [[ -f $CKPT/config.json ]] || python3 Benchmarks/make_synthetic_omni7b.py $CKPT >"$OUTDIR/synthetic.log" 2>&1
    LOG="$OUTDIR/omni_vs_transformers.log"
    : >"$LOG"
    for r in $(seq 1 "$ROUNDS"); do
        for n in 512 2048 8192; do
            echo "[omni round $r]" >>"$LOG"
            $BIN bench prefill $CKPT --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --tokens $n --runs 3 2>&1 | tee -a "$LOG"
        done
        $BIN bench decode $CKPT --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | tee -a "$LOG"
        $BIN bench towers $CKPT --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --runs 3 2>&1 | tee -a "$LOG"
        echo "[transformers round $r]" >>"$LOG"
        python3 Benchmarks/cuda/bench_transformers.py --attn sdpa,eager --towers --runs 3 2>&1 | tee -a "$LOG"
    done
    python3 - "$LOG" <<'EOF'
import json, re, statistics, sys
omni, tf, eager = {}, {}, {}
for line in open(sys.argv[1]):
    line = line.strip()
    m = re.match(r"prefill: ([0-9.]+) tokens/s .*tokens (\d+)", line)
    if m: omni.setdefault(f"prefill {m.group(2)}", []).append(float(m.group(1)))
    m = re.match(r"decode: ([0-9.]+) tokens/s", line)
    if m: omni.setdefault("decode 128", []).append(float(m.group(1)))
    m = re.match(r"audio tower: .* in ([0-9.]+) s", line)
    if m: omni.setdefault("audio 30 s (s)", []).append(float(m.group(1)))
    m = re.match(r"vision tower: .* in ([0-9.]+) s", line)
    if m: omni.setdefault("vision 448 (s)", []).append(float(m.group(1)))
    if line.startswith("{"):
        r = json.loads(line)
        if "error" in r: continue
        d = eager if r.get("attn") == "eager" else tf
        if r["row"] == "prefill": d.setdefault(f"prefill {r['tokens']}", []).append(r["tokens_per_s"])
        if r["row"] == "decode": d.setdefault("decode 128", []).append(r["tokens_per_s"])
        if r["row"] == "audio": d.setdefault("audio 30 s (s)", []).append(r["seconds"])
        if r["row"] == "vision": d.setdefault("vision 448 (s)", []).append(r["seconds"])
def med(d, k): return statistics.median(d[k]) if k in d else None
def ratio(a, b, k): return "-" if not (a and b) else f"{(a / b if '(s)' not in k else b / a):.2f}"
print(f"{'row':<18} {'omni cuda':>12} {'transformers sdpa':>18} {'ratio':>7} {'transformers eager':>19} {'ratio':>7}")
for k in ["prefill 512", "prefill 2048", "prefill 8192", "decode 128", "audio 30 s (s)", "vision 448 (s)"]:
    a, b, c = med(omni, k), med(tf, k), med(eager, k)
    print(f"{k:<18} {a if a is not None else '-':>12} {b if b is not None else '-':>18} {ratio(a, b, k):>7} "
          f"{c if c is not None else '-':>19} {ratio(a, c, k):>7}")
print("ratio > 1: omni faster (tokens/s over tokens/s; for towers, seconds over seconds inverted)")
EOF
fi

# The short table last: the kernel harness summaries.
if [[ $KERNELS == 1 ]]; then
    echo "==== summary"
    grep -h "^COPY\|^TIME\|^TOKEN\|FAIL\|check(s) failed" "$OUTDIR"/kernels_*.log
    grep -h "^q/o\|^k/v\|^gate\|^down\|^lm_head" "$OUTDIR/kernels_gemv.log" | grep "\*"
fi
[[ $SDPA == 1 ]] && cat "$OUTDIR/sdpa.jsonl"
exit 0
