#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the CUDA conformance suite, fixture parity (every reference case of every fixture
# checkpoint through `omni forward` on cuda:0 in f32 and bf16 compute, and on the CPU), and greedy tokens of
# `omni generate` on cuda:0 against the reference's. Usage: scripts/cuda_gpu_check.sh OMNI CUDA_CHECK OUTDIR
set -uo pipefail
omni=$1; check=$2; out=$3
mkdir -p "$out"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$out/cache}
status=0
echo "== conformance"; "$check" || status=1
cases=()
for model in Models/tiny-omni Tests/Fixtures/variants/gqa5; do
    refdir=$model/reference; [ "$model" = Models/tiny-omni ] && refdir=Tests/Fixtures/reference
    for kind in text audio image video video_audio; do
        ref=$refdir/$kind.safetensors; [ -f "$ref" ] || continue
        label=$(basename $model)-$kind
        for mode in cpu f32 bf16; do
            dev=cuda:0; [ $mode = cpu ] && dev=cpu
            cd_=f32; [ $mode = bf16 ] && cd_=bf16
            s=$(date +%s.%N)
            "$omni" forward "$model" --inputs "$ref" --out "$out/${mode}_$label.safetensors" --device-map $dev \
                --compute-dtype $cd_ > "$out/${mode}_$label.log" 2>&1 || { echo "forward $mode $label failed:"; tail -5 "$out/${mode}_$label.log"; status=1; }
            echo "forward $mode $label: $(echo "$(date +%s.%N) - $s" | bc) s"
        done
        cases+=("$model:$ref:$label")
    done
done
echo "== parity"; python3 "$(dirname "$0")/cuda_parity.py" "$out" "${cases[@]}" || status=1
echo "== greedy tokens"
for model in Models/tiny-omni Tests/Fixtures/variants/gqa5; do
    refdir=$model/reference; [ "$model" = Models/tiny-omni ] && refdir=Tests/Fixtures/reference
    for kind in text audio image video video_audio; do
        ref=$refdir/$kind.safetensors; [ -f "$ref" ] || continue
        n=$(python3 -c "import json,struct;f=open('$ref','rb');h=json.loads(f.read(struct.unpack('<Q',f.read(8))[0]));print(h['generated']['shape'][0])")
        want=$(python3 -c "
import json,struct,numpy as np
f=open('$ref','rb');n=struct.unpack('<Q',f.read(8))[0];h=json.loads(f.read(n));d=f.read();v=h['generated'];a,b=v['data_offsets']
print(np.frombuffer(d[a:b],dtype=np.int64).tolist())")
        for dev in cuda:0 cpu; do
            got=$("$omni" generate "$model" --inputs "$ref" --greedy --json --max-new-tokens $n --min-new-tokens $n --device-map $dev 2>"$out/gen.err" \
                | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens'])" 2>/dev/null)
            r=ok; [ "$got" = "$want" ] || { r=FAIL; status=1; }
            echo "generate $(basename $model) $kind $dev: $r ($got vs reference $want)"
        done
    done
done
exit $status
