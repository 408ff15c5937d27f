#!/usr/bin/env bash
# Session 24 call 1: where a replayed decode step's host time goes (fine marks), results read back with one wait,
# and each kernel's time in one decode step (ncu, if the machine reads counters).
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-/tmp/out}; mkdir -p $O
t0=$(date +%s); el() { echo $(( $(date +%s) - t0 )); }
mkdir -p /tmp/omni-bin; xz -dc carry/lead/omni.xz > /tmp/omni-bin/omni; chmod +x /tmp/omni-bin/omni
export XDG_CACHE_HOME=/tmp/omni-cache
(python3 Benchmarks/make_synthetic_omni7b.py /tmp/omni7b > /tmp/synthetic.log 2>&1) &
SYN=$!
B=/tmp/omni-bin/omni; C=/tmp/omni7b
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,driver_version --format=csv,noheader
f=$($B generate Models/tiny-omni --inputs Tests/Fixtures/reference/text.safetensors --greedy --json --max-new-tokens 12 --min-new-tokens 12 --device-map cuda:0 --compute-dtype f32 2>/tmp/gen.err | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens'])" 2>/dev/null || tail -2 /tmp/gen.err)
echo "tiny text f32 = reference: $([ "$f" = "[694, 1110, 1494, 1175, 1817, 1417, 1110, 1243, 1267, 296, 364, 22]" ] && echo same || echo DIFFERS) $f"
wait $SYN
echo "[step times at $(el)]"
for i in 1 2; do
OMNI_CUDA_STEP_TIMES=1 OMNI_CUDA_TRACE=1 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 > $O/steptimes$i.log 2>&1
grep -E "^decode|per replayed" $O/steptimes$i.log
$B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 128 --runs 3 2>&1 | grep -E "^decode"
done
echo "[ncu at $(el)]"
which ncu && timeout 200 ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-skip 1200 --launch-count 400 \
   env OMNI_CUDA_GRAPHS=0 $B bench decode $C --dtype bf16 --compute-dtype bf16 --device-map cuda:0 --new-tokens 6 --runs 1 > $O/ncu.csv 2> $O/ncu.err
tail -3 $O/ncu.err
python3 - $O/ncu.csv <<'PY'
import csv, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows: print("no ncu rows"); sys.exit()
h = rows[0]; ki = h.index("Kernel Name"); vi = h.index("Metric Value"); ui = h.index("Metric Unit")
tot = collections.defaultdict(float); cnt = collections.Counter()
for r in rows[1:]:
    v = float(r[vi].replace(",", "")); v = v / 1000 if r[ui] == "nsecond" else v
    n = r[ki].split("(")[0]; tot[n] += v; cnt[n] += 1
s = sum(tot.values())
for n, v in sorted(tot.items(), key=lambda x: -x[1]): print(f"{n:50s} {cnt[n]:4d} {v:9.1f} us {v/cnt[n]:7.2f} us each")
print(f"total {s:.1f} us over {sum(cnt.values())} kernels")
PY
echo "done at $(el)"
