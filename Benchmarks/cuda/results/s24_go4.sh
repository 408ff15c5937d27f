#!/usr/bin/env bash
# Session 24 call 4: the split-K combine by one warp a row (it was one row after another in the last block).
# Conformance (cuda-check: split-K against GPU eager) and fixture parity with the bf16 greedy modes first; then decode
# rows, a decode step timed operation by operation, and the side-by-side with transformers again.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
mkdir -p /tmp/omni-bin; xz -dc carry/lead/both.tar.xz | tar -x -C /tmp/omni-bin; chmod +x /tmp/omni-bin/*
export XDG_CACHE_HOME=/tmp/omni-cache
(python3 Benchmarks/make_synthetic_omni7b.py /tmp/omni7b > /tmp/synthetic.log 2>&1) &
SYN=$!
B=/tmp/omni-bin/omni; C=/tmp/omni7b
FORWARD_MODES="f32 bf16" GREEDY_MODES="cuda:0 cuda:0/bf16 cuda:0/bf16/nofuse cuda:0/bf16/nopdl" bash scripts/cuda_gpu_check.sh $B /tmp/omni-bin/cuda-check /tmp/parity > $O/parity.log 2>&1
echo "parity rc=$? at $(el)"; grep -iE "split|decode" $O/parity.log | head -8; grep -iE "fail|differ" $O/parity.log | head -5
wait $SYN
dec() { env "$@" $B bench decode $C --dtype ${W:-bf16} --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E "^decode" | sed 's/ (median.*//'; }
for r in 1 2; do echo "round $r: bf16 $(dec X=1) | bf16 separate combine $(dec OMNI_CUDA_DECODE_COMBINE=0) | q8_0 $(W=q8_0 dec X=1)"; done
echo "bf16 at 1024 prompt tokens: $($B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --prompt-tokens 1024 --new-tokens 128 --runs 3 2>&1 | grep -E '^decode' | sed 's/ (median.*//')"
OMNI_CUDA_STEP_PROFILE=1 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 1 > $O/stepprofile.log 2>&1
grep -A22 "step profile" $O/stepprofile.log | head -22
echo "[side by side at $(el)]"
OUT=/tmp/h200 bash Benchmarks/cuda/run_h200.sh --omni $B --rounds 1 > $O/h200.log 2>&1
cp /tmp/h200/omni_vs_transformers.log $O/ 2>/dev/null
tail -9 $O/h200.log
echo "done at $(el)"
