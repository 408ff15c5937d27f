#!/usr/bin/env bash
# Session 24 call 2: parity of the build (plan caches adopt a new session's graph; results read back with one wait),
# then decode A/B in rounds: the default bf16 GEMV split against OMNI_CUDA_GEMV_WARPS=32 (q/o/down on 8 warps a row
# group) and results through the staging buffer; step times once.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
mkdir -p /tmp/omni-bin; xz -dc carry/lead/omni.xz > /tmp/omni-bin/omni; chmod +x /tmp/omni-bin/omni
export XDG_CACHE_HOME=/tmp/omni-cache
(python3 Benchmarks/make_synthetic_omni7b.py /tmp/omni7b > /tmp/synthetic.log 2>&1) &
SYN=$!
B=/tmp/omni-bin/omni; C=/tmp/omni7b
FORWARD_MODES="f32 bf16" GREEDY_MODES="cuda:0 cuda:0/bf16 cuda:0/bf16/nofuse cuda:0/bf16/nopdl" bash scripts/cuda_gpu_check.sh $B "" /tmp/parity > $O/parity.log 2>&1
echo "parity rc=$? at $(el)"; grep -E "FAIL|DIFF|differ|fail|ok .* of|all|greedy" $O/parity.log | tail -15
wait $SYN
dec() { env "$@" $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E "^decode" | sed 's/ (median.*//'; }
for r in 1 2 3; do
  echo "round $r: default $(dec X=1) | warps32 $(dec OMNI_CUDA_GEMV_WARPS=32) | staged results $(dec OMNI_CUDA_PINNED_RESULTS=0)"
done
echo "q8_0: $($B bench decode $C --dtype q8_0 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E '^decode' | sed 's/ (median.*//')"
OMNI_CUDA_STEP_TIMES=1 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E "^decode|per replayed"
echo "done at $(el)"
