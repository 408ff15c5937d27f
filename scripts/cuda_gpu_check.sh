#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the CUDA conformance suite, fixture parity (every reference case of every fixture
# checkpoint through `omni forward` on cuda:0 in f32 and bf16 compute, and on the CPU), and greedy tokens of
# `omni generate` on cuda:0 against the reference's. Usage: scripts/cuda_gpu_check.sh OMNI CUDA_CHECK OUTDIR
# FORWARD_MODES / GREEDY_MODES pick modes (default: all; a short device call can skip the CPU and no-graph modes).
# Forward mode cpubf16 (not in the default: it is the f32 path on a CPU without AMX-BF16) runs the CPU in bf16 compute.
set -uo pipefail
omni=$1; check=$2; out=$3
mkdir -p "$out"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-$out/cache}
status=0
echo "== conformance"; if [ -x "$check" ]; then "$check" || status=1; else echo "cuda-check not given: skipped"; fi
cases=()
for model in Models/tiny-omni Tests/Fixtures/variants/gqa5; do
    refdir=$model/reference; [ "$model" = Models/tiny-omni ] && refdir=Tests/Fixtures/reference
    for kind in text audio image video video_audio; do
        ref=$refdir/$kind.safetensors; [ -f "$ref" ] || continue
        label=$(basename $model)-$kind
        for mode in ${FORWARD_MODES:-cpu f32 bf16}; do
            dev=cuda:0; [[ $mode == cpu* ]] && dev=cpu
            cd_=f32; [[ $mode == *bf16 ]] && cd_=bf16
            s=$(date +%s%N)
            "$omni" forward "$model" --inputs "$ref" --out "$out/${mode}_$label.safetensors" --device-map $dev \
                --compute-dtype $cd_ > "$out/${mode}_$label.log" 2>&1 || { echo "forward $mode $label failed:"; tail -5 "$out/${mode}_$label.log"; status=1; }
            echo "forward $mode $label: $(( ($(date +%s%N) - s) / 1000000 )) ms"
        done
        cases+=("$model:$ref:$label")
    done
done
echo "== parity"; python3 "$(dirname "$0")/cuda_parity.py" "$out" "${cases[@]}" || status=1
echo "== token2wav (DiT and BigVGAN, its SnakeBeta a fused op with CUDA source): mel and waveform vs reference, bound 1e-3"
for model in Models/tiny-omni Tests/Fixtures/variants/spk; do
    refdir=$model/reference; [ "$model" = Models/tiny-omni ] && refdir=Tests/Fixtures/reference
    ref=$refdir/speech.safetensors; [ -f "$ref" ] || continue
    for dev in cpu cuda:0; do
        s=$(date +%s%N)
        "$omni" token2wav "$model" --inputs "$ref" --out "$out/t2w_${dev%:0}_$(basename $model).safetensors" --speaker Chelsie \
            --steps 4 --guidance 0.5 --device $dev > "$out/t2w.log" 2>&1 || { echo "token2wav $dev failed:"; tail -5 "$out/t2w.log"; status=1; }
        echo "token2wav $dev $(basename $model): $(( ($(date +%s%N) - s) / 1000000 )) ms"
    done
    python3 "$(dirname "$0")/cuda_parity.py" --t2w "$ref" "$out/t2w_cpu_$(basename $model).safetensors" "$out/t2w_cuda_$(basename $model).safetensors" || status=1
done
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
        # Decode steps run as one CUDA graph replay per token; OMNI_CUDA_GRAPHS=0 launches the same kernels one by one,
        # OMNI_CUDA_FUSE=0 without the fused groups (add+norm, q/k RoPE, q/k/v and gate/up GEMVs), OMNI_CUDA_PDL=0
        # without dependent launches. f32 compute: every GPU mode must give the reference's tokens; bf16 compute (the
        # only mode with the GEMVs, which dependent launches start early): graphs on, off, unfused and without
        # dependent launches must agree.
        base=""
        for mode in ${GREEDY_MODES:-cuda:0 cuda:0/nographs cuda:0/nofuse cuda:0/bf16 cuda:0/bf16/nographs cuda:0/bf16/nofuse cuda:0/bf16/nopdl cpu}; do
            dev=${mode%%/*}; graphs=1; cd_=f32; fuse=1; pdl=1
            [[ $mode == */nographs ]] && graphs=0
            [[ $mode == */nofuse ]] && fuse=0
            [[ $mode == */nopdl ]] && pdl=0
            [[ $mode == */bf16* ]] && cd_=bf16
            got=$(OMNI_CUDA_PDL=$pdl OMNI_CUDA_FUSE=$fuse OMNI_CUDA_GRAPHS=$graphs "$omni" generate "$model" --inputs "$ref" --greedy --json --max-new-tokens $n --min-new-tokens $n \
                --device-map $dev --compute-dtype $cd_ 2>"$out/gen.err" | python3 -c "import json,sys; print(json.load(sys.stdin)['tokens'])" 2>/dev/null)
            [ -s "$out/gen.err" ] && { echo "  stderr of $mode:"; tail -3 "$out/gen.err"; }
            if [ $cd_ = bf16 ]; then
                # bf16 compute: each variant must give the tokens of cuda:0/bf16 (the first bf16 mode).
                r="bf16, reference $want"
                if [ -z "$base" ]; then base=$got; else
                    what="graphs on = off"; [[ $mode == */nofuse ]] && what="fused = unfused"
                    [[ $mode == */nopdl ]] && what="dependent launches on = off"
                    if [ "$got" = "$base" ] && [ -n "$got" ]; then r="$r; $what: ok"; else r="$r; $what: FAIL"; status=1; fi
                fi
                echo "generate $(basename $model) $kind $mode: $got ($r)"
                continue
            fi
            r=ok; [ "$got" = "$want" ] || { r=FAIL; status=1; }
            echo "generate $(basename $model) $kind $mode: $r ($got vs reference $want)"
        done
    done
done
if [ -n "${BENCH:-}" ]; then
    # Baseline figures of these simple kernels (eager attention, one launch per node) on Qwen2.5-0.5B text shapes.
    echo "== bench (Qwen2.5-0.5B shapes, random bf16 weights)"
    python3 Benchmarks/make_synthetic_qwen.py /tmp/bench-data --no-gguf > /dev/null
    for cd_ in f32 bf16; do
        "$omni" bench prefill /tmp/bench-data/omni --dtype bf16 --device-map cuda:0 --compute-dtype $cd_ --tokens 512 --runs 3 2>&1 | tail -2
        "$omni" bench decode /tmp/bench-data/omni --dtype bf16 --device-map cuda:0 --compute-dtype $cd_ --new-tokens 64 --runs 3 2>&1 | tail -2
    done
fi
exit $status
