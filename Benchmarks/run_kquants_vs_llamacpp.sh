#!/usr/bin/env bash
# Thinker decode of `omni` against llama.cpp on the same llama.cpp Q4_K_M file (Qwen2.5-0.5B text shapes, the
# synthetic checkpoint of Benchmarks/make_synthetic_qwen.py quantized by llama.cpp itself), 2 threads.
#
#   Benchmarks/run_kquants_vs_llamacpp.sh [--rounds N] [--runs N] [--tg N] [--type Q4_K_M] [--skip-build]
#
# OMNI_BENCH_LOCK names another lock for the measurements (as in run_all.sh), e.g. to run the whole script inside one
# hold of /tmp/swift-build.lock: flock /tmp/swift-build.lock env OMNI_BENCH_LOCK=/tmp/kq.lock $0 --skip-build
#
# Makes .build-bench-data/qwen2-bf16.gguf if missing, quantizes it with llama.cpp's quantizer
# (Benchmarks/quantize_gguf.py, printing the tensor types the file holds), puts the result next to the synthetic
# config in .build-bench-data/omni-TYPE/ (a symlink), and then runs interleaved A B A B: each round llama.cpp's tg
# (Benchmarks/llama_bench.py) then `omni bench decode` on that same file, every measurement under
# /tmp/swift-build.lock so no build on this machine overlaps it, with the read ceiling (Benchmarks/matvec_streams.c
# read-only) measured once per round. Prints each round, the ratio, and omni's streamed GB/s against that ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=2; RUNS=3; TG=64; THREADS=2; TYPE=Q4_K_M; BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --tg) TG="$2"; shift 2 ;;
        --type) TYPE="$2"; shift 2 ;;
        --skip-build) BUILD=0; shift ;;
        *) echo "usage: $0 [--rounds N] [--runs N] [--tg N] [--type Q4_K_M] [--skip-build]" >&2; exit 2 ;;
    esac
done

LOCK=${OMNI_BENCH_LOCK:-/tmp/swift-build.lock}
DATA=.build-bench-data
OMNI=.build/release/omni
lower=$(echo "$TYPE" | tr '[:upper:]' '[:lower:]')
FILE="$DATA/qwen2-$lower.gguf"
FOLDER="$DATA/omni-$lower"

if [[ $BUILD == 1 ]]; then
    flock "$LOCK" swift build -c release --product omni >/tmp/omni-kquant-bench-build.log 2>&1 \
        || { tail -20 /tmp/omni-kquant-bench-build.log; exit 1; }
fi
[[ -x "$OMNI" ]] || { echo "$0: $OMNI is missing (run without --skip-build)" >&2; exit 1; }
if [[ ! -f "$DATA/omni/config.json" || ! -f "$DATA/qwen2-bf16.gguf" ]]; then
    python3 Benchmarks/make_synthetic_qwen.py "$DATA" --gguf bf16
fi
if [[ ! -f "$FILE" ]]; then
    python3 Benchmarks/quantize_gguf.py "$DATA/qwen2-bf16.gguf" "$FILE" --type "$TYPE" --threads $THREADS
fi
mkdir -p "$FOLDER"
for f in "$DATA"/omni/*.json "$DATA"/omni/*.txt; do
    case "$(basename "$f")" in model.safetensors.index.json) ;; *) cp -f "$f" "$FOLDER/" ;; esac
done
ln -sf "../$(basename "$FILE")" "$FOLDER/model.gguf"

# Weight bytes one decode step reads: every tensor of the file but the embedding table (a step gathers one row).
BYTES=$(python3 -c "
import gguf, sys
r = gguf.GGUFReader(sys.argv[1])
print(sum(int(t.n_bytes) for t in r.tensors if t.name != 'token_embd.weight'))" "$FILE")
cc -O2 -mavx2 -mfma -mf16c -pthread Benchmarks/matvec_streams.c -o /tmp/omni-kquant-matvec_streams

declare -A R
for round in $(seq 1 "$ROUNDS"); do
    R[ceil_$round]=$(flock "$LOCK" /tmp/omni-kquant-matvec_streams $THREADS read-only \
                     | sed -n 's/^read-only *threads [0-9]*: *\([0-9.]*\) GB\/s.*/\1/p')
    out=$(flock "$LOCK" python3 Benchmarks/llama_bench.py "$FILE" --threads $THREADS --pp 0 --tg "$TG" --runs "$RUNS")
    echo "$out" | sed "s/^/[llama.cpp round $round] /" >&2
    R[llama_$round]=$(echo "$out" | sed -n "s/^tg$TG: \([0-9.]*\) tokens\/s.*/\1/p")
    out=$(flock "$LOCK" $OMNI bench decode "$FOLDER" --threads $THREADS --new-tokens "$TG" --runs "$RUNS")
    echo "$out" | sed "s/^/[omni round $round] /" >&2
    R[omni_$round]=$(echo "$out" | sed -n "s/^decode: \([0-9.]*\) tokens\/s.*/\1/p")
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, tg $TG, $TYPE, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "weights read per token: $((BYTES / 1000000)) MB (every tensor but token_embd)"
printf '%-6s %12s %12s %8s %14s %14s\n' round "llama.cpp" omni ratio "omni GB/s" "ceiling GB/s"
for round in $(seq 1 "$ROUNDS"); do
    printf '%-6s %12s %12s %8s %14s %14s\n' "$round" "${R[llama_$round]}" "${R[omni_$round]}" \
        "$(ratio "${R[omni_$round]}" "${R[llama_$round]}")" \
        "$(python3 -c "print(f'{$BYTES * ${R[omni_$round]} / 1e9:.1f}')")" "${R[ceil_$round]}"
done
