#!/usr/bin/env bash
# Batched decode throughput of `omni` (B sessions on one model, their steps batched by OmniModel.decoder) against
# llama.cpp's batched decoding (llama-cpp-python's llama_decode with B sequences, as llama-batched-bench's TG) on the
# same synthetic checkpoint (Qwen2.5-0.5B text shapes), 2 threads, tokens/s summed over sessions, B = 1 2 4 8.
#
#   Benchmarks/run_batch_vs_llamacpp.sh [--rounds N] [--runs N] [--tg N]
#   OMNI=PATH Benchmarks/run_batch_vs_llamacpp.sh …   # times another omni binary (e.g. a build of main); no build
#
# Interleaved A B A B: each round runs llama.cpp then omni for bf16, then for q8_0, all in one hold of
# /tmp/swift-build.lock so no build on this machine overlaps it (the load average is printed per pair). Needs python3 with llama-cpp-python (pip install llama-cpp-python), and numpy + gguf for the data
# (Benchmarks/make_synthetic_qwen.py).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=2; RUNS=3; TG=32; THREADS=2; BATCHES=1,2,4,8
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --tg) TG="$2"; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--runs N] [--tg N]" >&2; exit 2 ;;
    esac
done

LOCK=/tmp/swift-build.lock
DATA=.build-bench-data
BUILD=1
if [[ -n "${OMNI:-}" ]]; then BUILD=0; else OMNI=.build/release/omni; fi
# Build only when a source is newer than the binary (each lock acquisition can wait behind other builds).
if [[ $BUILD == 1 && ( ! -x "$OMNI" || -n "$(find Sources Plugins Package.swift -newer "$OMNI" -type f -print -quit)" ) ]]; then
    flock "$LOCK" swift build -c release --product omni >/tmp/omni-batch-bench-build.log 2>&1 \
        || { tail -20 /tmp/omni-batch-bench-build.log; exit 1; }
fi
if [[ ! -f "$DATA/omni/config.json" || ! -f "$DATA/qwen2-bf16.gguf" || ! -f "$DATA/qwen2-q8_0.gguf" ]]; then
    python3 Benchmarks/make_synthetic_qwen.py "$DATA"
fi

declare -A R
# One lock hold per round: llama.cpp then omni back to back for each dtype, so the two halves of a pair see the same
# load (and a queue of builds waiting for the lock cannot slip in between them).
pair() {   # dtype → llama.cpp's lines, "=== omni", omni's lines
    python3 Benchmarks/llama_batched_bench.py "$DATA/qwen2-$1.gguf" --threads $THREADS --batches $BATCHES --tg "$TG" \
        --runs "$RUNS" 2>/dev/null
    echo "=== omni"
    $OMNI bench batch "$DATA/omni" --dtype "$1" --threads $THREADS --batches $BATCHES --new-tokens "$TG" --runs "$RUNS"
}
export -f pair
export DATA THREADS BATCHES TG RUNS OMNI
for round in $(seq 1 "$ROUNDS"); do
    all=$(flock "$LOCK" bash -c 'for dt in bf16 q8_0; do echo "=== load $(cut -d" " -f1-3 /proc/loadavg)"; pair $dt; done')
    for dt in bf16 q8_0; do
        # this dtype's part: from its "=== load" line to the next one (bf16 first, then q8_0)
        if [[ $dt == bf16 ]]; then both=$(echo "$all" | awk '/^=== load/{n++} n==1'); else both=$(echo "$all" | awk '/^=== load/{n++} n==2'); fi
        echo "$both" | sed -n '1p' | sed "s/^=== /[$dt round $round] /" >&2
        llama=$(echo "$both" | sed -n '2,/^=== omni$/p' | sed '$d')
        out=$(echo "$both" | sed -n '/^=== omni$/,$p' | sed '1d')
        echo "$llama" | sed "s/^/[llama.cpp $dt round $round] /" >&2
        echo "$out" | sed "s/^/[omni $dt round $round] /" >&2
        for b in ${BATCHES//,/ }; do
            R[llama_${dt}_${b}_$round]=$(echo "$llama" | sed -n "s/^batch $b: \([0-9.]*\) tokens.*/\1/p")
            R[omni_${dt}_${b}_$round]=$(echo "$out" | sed -n "s/^batch $b: \([0-9.]*\) tokens.*/\1/p")
        done
    done
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, tg $TG per session, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-6s %-6s %-6s %12s %12s %8s %10s\n' dtype batch round "llama.cpp" omni "omni/llm" "omni/b1"
for dt in bf16 q8_0; do
    for round in $(seq 1 "$ROUNDS"); do
        for b in ${BATCHES//,/ }; do
            printf '%-6s %-6s %-6s %12s %12s %8s %10s\n' $dt $b $round "${R[llama_${dt}_${b}_$round]}" \
                "${R[omni_${dt}_${b}_$round]}" "$(ratio "${R[omni_${dt}_${b}_$round]}" "${R[llama_${dt}_${b}_$round]}")" \
                "$(ratio "${R[omni_${dt}_${b}_$round]}" "${R[omni_${dt}_1_$round]}")"
        done
    done
done
