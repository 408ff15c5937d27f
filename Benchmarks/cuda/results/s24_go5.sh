#!/usr/bin/env bash
# Session 24 call 5: the split-K kernel's query loads and V loads in flight together. Conformance and parity with
# the bf16 greedy modes, then decode rounds (fused last-block combine against OMNI_CUDA_DECODE_COMBINE=0) and the
# attention's line of the step profile.
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
echo "parity rc=$? at $(el)"; grep -iE "split" $O/parity.log | head -4; grep -iE "fail|differ" $O/parity.log | head -5
wait $SYN
dec() { env "$@" $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E "^decode" | sed 's/ (median.*//'; }
for r in 1 2; do echo "round $r: bf16 $(dec X=1) | bf16 separate combine $(dec OMNI_CUDA_DECODE_COMBINE=0)"; done
OMNI_CUDA_STEP_PROFILE=1 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 1 > $O/stepprofile.log 2>&1
grep -E "in all|attn|combine" $O/stepprofile.log | head -6
echo "done at $(el)"
