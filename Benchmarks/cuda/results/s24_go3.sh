#!/usr/bin/env bash
# Session 24 call 3: the stop's build. Conformance (cuda-check) and fixture parity with the bf16 greedy modes, then the
# side-by-side with transformers (run_h200.sh --omni, one round: prefill 512/2048/8192, decode 128, towers), then
# Q8_0 and bf16 decode rows for the roofline, and a decode step timed operation by operation (OMNI_CUDA_STEP_PROFILE=1).
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
mkdir -p /tmp/omni-bin; xz -dc carry/lead/both.tar.xz | tar -x -C /tmp/omni-bin; chmod +x /tmp/omni-bin/*
export XDG_CACHE_HOME=/tmp/omni-cache
(python3 Benchmarks/make_synthetic_omni7b.py /tmp/omni7b > /tmp/synthetic.log 2>&1) &
SYN=$!
B=/tmp/omni-bin/omni; C=/tmp/omni7b
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
FORWARD_MODES="f32 bf16" GREEDY_MODES="cuda:0 cuda:0/bf16 cuda:0/bf16/nofuse cuda:0/bf16/nopdl" bash scripts/cuda_gpu_check.sh $B /tmp/omni-bin/cuda-check /tmp/parity > $O/parity.log 2>&1
echo "parity rc=$? at $(el)"; grep -ciE " ok$|: ok|ok \(" $O/parity.log; grep -iE "fail|differ" $O/parity.log | head -5
wait $SYN
OUT=/tmp/h200 bash Benchmarks/cuda/run_h200.sh --omni $B --rounds 1 > $O/h200.log 2>&1
cp /tmp/h200/omni_vs_transformers.log $O/ 2>/dev/null
tail -10 $O/h200.log; echo "side by side done at $(el)"
for w in q8_0 bf16; do echo "$w: $($B bench decode $C --dtype $w --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E '^decode|weights:' | tr '\n' ' ')"; done
OMNI_CUDA_STEP_PROFILE=1 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 1 > $O/stepprofile.log 2>&1
grep -A45 "step profile" $O/stepprofile.log | head -45
echo "done at $(el)"
