#!/usr/bin/env bash
# Thinker decode and prefill speed of `omni` against llama.cpp (llama-cpp-python) on the same synthetic
# checkpoint (Qwen2.5-0.5B text shapes, random bf16 weights), 2 threads, side by side.
#
#   Benchmarks/run_vs_llamacpp.sh [--runs N] [--tg N] [--pp N]
#
# Builds release, writes the checkpoint into .build-bench-data/ if missing (python3 with numpy and gguf),
# then for BF16 and Q8_0 runs llama.cpp's pp/tg and `omni bench prefill` / `omni bench decode`, and prints a
# table. Every swift command and every measurement runs under /tmp/omni-build.lock, so no build on this
# machine overlaps a timing (other, unlocked load can still share the CPU: rerun when in doubt).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=5; TG=128; PP=512; THREADS=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --tg) TG="$2"; shift 2 ;;
        --pp) PP="$2"; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--tg N] [--pp N]" >&2; exit 2 ;;
    esac
done

LOCK=/tmp/omni-build.lock
DATA=.build-bench-data
OMNI=.build/release/omni

flock "$LOCK" swift build -c release --product omni >/tmp/omni-bench-build.log 2>&1 \
    || { tail -20 /tmp/omni-bench-build.log; exit 1; }
if [[ ! -f "$DATA/omni/config.json" || ! -f "$DATA/qwen2-bf16.gguf" || ! -f "$DATA/qwen2-q8_0.gguf" ]]; then
    python3 Benchmarks/make_synthetic_qwen.py "$DATA"
fi

rate() { sed -n "s/^$1: \([0-9.]*\) tokens\/s.*/\1/p"; }

declare -A R
for dt in bf16 q8_0; do
    out=$(flock "$LOCK" python3 Benchmarks/llama_bench.py "$DATA/qwen2-$dt.gguf" --threads $THREADS \
              --pp "$PP" --tg "$TG" --runs "$RUNS")
    R[llama_pp_$dt]=$(echo "$out" | rate "pp$PP")
    R[llama_tg_$dt]=$(echo "$out" | rate "tg$TG")
    out=$(flock "$LOCK" $OMNI bench decode "$DATA/omni" --dtype $dt --threads $THREADS --new-tokens "$TG" --runs "$RUNS")
    echo "$out" | sed "s/^/[omni $dt] /" >&2
    R[omni_tg_$dt]=$(echo "$out" | rate decode)
    out=$(flock "$LOCK" $OMNI bench prefill "$DATA/omni" --dtype $dt --threads $THREADS --tokens "$PP" --runs "$RUNS")
    echo "$out" | sed "s/^/[omni $dt] /" >&2
    R[omni_pp_$dt]=$(echo "$out" | rate prefill)
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, $(date -u +%Y-%m-%d)"
printf '%-8s %-10s %12s %12s %8s %8s\n' dtype test "llama.cpp" omni ratio target
for dt in bf16 q8_0; do
    printf '%-8s %-10s %12s %12s %8s %8s\n' $dt "tg$TG" "${R[llama_tg_$dt]}" "${R[omni_tg_$dt]}" \
        "$(ratio "${R[omni_tg_$dt]}" "${R[llama_tg_$dt]}")" "0.90"
    target=$([[ $dt == bf16 ]] && echo 0.70 || echo -)
    printf '%-8s %-10s %12s %12s %8s %8s\n' $dt "pp$PP" "${R[llama_pp_$dt]}" "${R[omni_pp_$dt]}" \
        "$(ratio "${R[omni_pp_$dt]}" "${R[llama_pp_$dt]}")" "$target"
done
