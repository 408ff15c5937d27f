#!/usr/bin/env bash
# The whole CPU table of issue 16 in one go: every row runs its peer and `omni` side by side, interleaved
# (peer, omni, peer, omni … for --rounds rounds), and prints the medians and the median of the per-round
# ratios omni/peer (higher is better for omni on every row: rates, or peer seconds / omni seconds).
#
#   Benchmarks/run_all.sh [--rounds N] [--threads N] [--tg N] [--pp N] [--rows a,b,…] [--quick] [--skip-build]
#
# Rows, in table order (`--rows` picks some; `--quick` leaves out the two tower rows, which take minutes a round):
#   decode_bf16, decode_q8_0, decode_q4_0  thinker decode at Qwen2.5-0.5B text shapes vs llama.cpp (tg from an
#                 empty cache, --tg tokens), each also as GB/s streamed and as a fraction of the read ceiling
#   prefill_bf16  thinker prefill of --pp tokens (default 512), bf16, vs llama.cpp's pp
#   audio_tower   30 s of random mel features through the audio tower at the 7B shapes (`omni bench towers`,
#                 bf16 weights of Benchmarks/make_synthetic_towers7b.py) vs transformers f32
#                 (Benchmarks/towers_transformers.py, random f32 weights of the same shapes): one timed forward
#                 after a warm-up each; ratio = transformers seconds / omni seconds
#   vision_tower  one 448×448 image (1024 patches) through the vision tower, the same way
#   tokenizer     the whole process `omni tokenize DIR --text …` vs Python + HF tokenizers loading the same
#                 tokenizer.json and encoding the same text, on a stand-in for Qwen2.5's tokenizer.json
#                 (Benchmarks/make_standin_tokenizer.py: 151,643 tokens, 11.7 MB; the real file cannot be
#                 downloaded here); five pairs a round after one warm-up of each (omni's writes its cache)
#
# OMNI=PATH times another omni binary (e.g. a build of main, for before/after); it implies --skip-build.
#
# It also measures the machine's read ceiling in the same run (Benchmarks/matvec_streams.c, read-only pass
# over 557 MB, once per decode round) and prints each decode row as a fraction of it: weight bytes a decode
# step reads (every thinker weight but the embedding table, in the dtype the step reads them) × tokens/s.
#
# ROWS: each row is one shell function `row_NAME` below, listed in ROWS in table order; it measures with the
# helpers (`timed`, `wall`, `load_once`, `ceiling_once`) and ends with one call to `report`. To add a row, write
# one such function and add its name to ROWS; nothing else needs to change.
#
# Needs: python3 with numpy and gguf (synthetic checkpoints), llama-cpp-python (the llama.cpp peer), torch and
# transformers (the towers' peer), tokenizers (the tokenizer's peer), a C
# compiler (cc) for the ceiling. Builds `omni` in release. Every build and every measurement runs under
# the lock file $OMNI_BENCH_LOCK (default /tmp/swift-build.lock), so no build on this machine overlaps a
# timing; other, unlocked load can still share the CPU, which is why rows are interleaved and ratios are
# taken round by round.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3; THREADS=2; TG=64; PP=512; BUILD=1; QUICK=0
ROWS="decode_bf16 decode_q8_0 decode_q4_0 prefill_bf16 audio_tower vision_tower tokenizer"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --tg) TG="$2"; shift 2 ;;
        --pp) PP="$2"; shift 2 ;;
        --rows) ROWS="${2//,/ }"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --skip-build) BUILD=0; shift ;;
        *) echo "usage: $0 [--rounds N] [--threads N] [--tg N] [--pp N] [--rows decode_bf16,decode_q8_0,…] [--quick] [--skip-build]" >&2; exit 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ && "$TG" =~ ^[1-9][0-9]*$ && "$PP" =~ ^[1-9][0-9]*$ ]] \
    || { echo "$0: --rounds, --threads, --tg and --pp take positive integers" >&2; exit 2; }
if [[ $QUICK == 1 ]]; then ROWS=$(echo " $ROWS " | sed 's/ audio_tower / /; s/ vision_tower / /'); fi

LOCK=${OMNI_BENCH_LOCK:-/tmp/swift-build.lock}
DATA=.build-bench-data
if [[ -n "${OMNI:-}" ]]; then BUILD=0; else OMNI=.build/release/omni; fi
WORK=$(mktemp -d /tmp/omni-run-all.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RESULTS=()          # one formatted line per row
CEILINGS=()         # GB/s, every read-ceiling pass of this run
LOADS=()            # 1-minute load average at the start of every round

# ---------------------------------------------------------------- helpers
median() { python3 -c 'import statistics,sys; v=[float(a) for a in sys.argv[1:]]; print(f"{statistics.median(v):.2f}" if v else "nan")' "$@"; }

# timed CMD…: runs CMD under the lock, prints its stdout (stderr goes to $WORK/stderr, shown on failure).
timed() {
    if ! flock "$LOCK" "$@" 2>"$WORK/stderr"; then
        echo "failed: $*" >&2; tail -20 "$WORK/stderr" >&2; return 1
    fi
}

# wall CMD…: seconds of one whole process (under the lock), its stdout discarded.
wall() {
    flock "$LOCK" python3 -c 'import subprocess,sys,time
t=time.perf_counter(); r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
s=time.perf_counter()-t
if r.returncode: sys.stderr.write(r.stderr.decode()); sys.exit(1)
print(f"{s:.4f}")' "$@"
}

# load_once: notes the 1-minute load average (other processes share the CPU between the locked timings).
load_once() { LOADS+=("$(cut -d' ' -f1 /proc/loadavg)"); }

# ceiling_once: one read-only pass of matvec_streams on $THREADS threads; sets CEILING (GB/s) and appends it
# to CEILINGS. Call it directly, not inside $(…), which would run it in a subshell.
ceiling_once() {
    CEILING=$(timed "$WORK/matvec_streams" "$THREADS" read-only | sed -n 's/^read-only *threads [0-9]*: *\([0-9.]*\) GB\/s.*/\1/p')
    [[ -n "$CEILING" ]] || { echo "$0: no figure from matvec_streams" >&2; exit 1; }
    CEILINGS+=("$CEILING")
}

# report NAME PEER PEER_FIG OMNI_FIG RATIO UNIT [NOTE]: one row of the table.
report() {
    RESULTS+=("$(printf '%-26s %-30s %10s %10s %7s  %-9s %s' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}")")
}

# decode_bytes DTYPE: weight bytes one decode step reads on the synthetic checkpoint (matrices in DTYPE as
# `--dtype` converts them, vectors as stored, the embedding table excluded: a step gathers one row of it).
decode_bytes() {
    python3 - "$DATA/omni" "$1" <<'EOF'
import json, os, struct, sys
folder, dtype = sys.argv[1], sys.argv[2]
per = {"bf16": 2.0, "f16": 2.0, "f32": 4.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
stored = {"BF16": 2, "F16": 2, "F32": 4}
total = 0
for name in sorted(os.listdir(folder)):
    if not name.endswith(".safetensors"):
        continue
    with open(os.path.join(folder, name), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    for key, t in header.items():
        if key == "__metadata__" or key.endswith("embed_tokens.weight"):
            continue
        count = 1
        for s in t["shape"]:
            count *= s
        total += count * (per[dtype] if len(t["shape"]) == 2 else stored[t["dtype"]])
print(int(total))
EOF
}

# ---------------------------------------------------------------- rows
# Thinker decode at Qwen2.5-0.5B text shapes (synthetic weights), llama-bench tg from an empty cache,
# llama.cpp through llama-cpp-python on the same numbers in GGUF. One function per weight dtype.
decode_row() {   # dtype label
    local dt=$1 label=$2 peer=() omni=() ratios=() ceil=() bytes p o c
    bytes=$(decode_bytes "$dt")
    for ((r = 1; r <= ROUNDS; r++)); do
        load_once; ceiling_once; c=$CEILING; ceil+=("$c")
        p=$(timed python3 Benchmarks/llama_bench.py "$DATA/qwen2-$dt.gguf" --threads "$THREADS" --pp 0 --tg "$TG" --runs 1 \
            | sed -n "s/^tg$TG: \([0-9.]*\) tokens\/s.*/\1/p")
        o=$(timed "$OMNI" bench decode "$DATA/omni" --dtype "$dt" --threads "$THREADS" --new-tokens "$TG" --runs 1 \
            | sed -n 's/^decode: \([0-9.]*\) tokens\/s.*/\1/p')
        [[ -n "$p" && -n "$o" ]] || { echo "$0: $label: no tokens/s figure (llama.cpp '$p', omni '$o')" >&2; exit 1; }
        peer+=("$p"); omni+=("$o"); ratios+=("$(python3 -c "print($o / $p)")")
        echo "  $label round $r: ceiling $c GB/s, llama.cpp $p, omni $o tokens/s" >&2
    done
    local om cm
    om=$(median "${omni[@]}"); cm=$(median "${ceil[@]}")
    report "$label" "llama.cpp (llama-cpp-python)" "$(median "${peer[@]}")" "$om" "$(median "${ratios[@]}")" "tokens/s" \
        "$(python3 -c "b=$bytes; print(f'streams {b * $om / 1e9:.1f} GB/s = {100 * b * $om / 1e9 / $cm:.0f}% of the read ceiling ({b / 1e6:.0f} MB/token)')")"
}
row_decode_bf16() { decode_row bf16 "thinker decode bf16"; }
row_decode_q8_0() { decode_row q8_0 "thinker decode Q8_0"; }
row_decode_q4_0() { decode_row q4_0 "thinker decode Q4_0"; }

# Thinker prefill of $PP tokens in bf16 on the same checkpoint, llama-bench pp against `omni bench prefill`.
row_prefill_bf16() {
    local peer=() omni=() ratios=() p o
    for ((r = 1; r <= ROUNDS; r++)); do
        load_once
        p=$(timed python3 Benchmarks/llama_bench.py "$DATA/qwen2-bf16.gguf" --threads "$THREADS" --pp "$PP" --tg 0 --runs 1 \
            | sed -n "s/^pp$PP: \([0-9.]*\) tokens\/s.*/\1/p")
        o=$(timed "$OMNI" bench prefill "$DATA/omni" --dtype bf16 --threads "$THREADS" --tokens "$PP" --runs 1 \
            | sed -n 's/^prefill: \([0-9.]*\) tokens\/s.*/\1/p')
        [[ -n "$p" && -n "$o" ]] || { echo "$0: prefill: no tokens/s figure (llama.cpp '$p', omni '$o')" >&2; exit 1; }
        peer+=("$p"); omni+=("$o"); ratios+=("$(python3 -c "print($o / $p)")")
        echo "  prefill $PP bf16 round $r: llama.cpp $p, omni $o tokens/s" >&2
    done
    report "thinker prefill $PP bf16" "llama.cpp (llama-cpp-python)" "$(median "${peer[@]}")" "$(median "${omni[@]}")" \
        "$(median "${ratios[@]}")" "tokens/s"
}

# The towers at the 7B shapes: one timed forward each side a round (after a warm-up inside each program).
tower_row() {   # audio|vision label
    local which=$1 label=$2 peer=() omni=() ratios=() p o args
    if [[ $which == audio ]]; then args=(--audio-seconds 30 --image-size 0); else args=(--audio-seconds 0 --image-size 448); fi
    for ((r = 1; r <= ROUNDS; r++)); do
        load_once
        p=$(timed python3 Benchmarks/towers_transformers.py "${args[@]}" --runs 1 --threads "$THREADS" \
            | sed -n "s/^$which tower: .* in \([0-9.]*\) s .*/\1/p")
        o=$(timed "$OMNI" bench towers "$DATA/towers7b" "${args[@]}" --runs 1 --threads "$THREADS" \
            | sed -n "s/^$which tower: .* in \([0-9.]*\) s .*/\1/p")
        [[ -n "$p" && -n "$o" ]] || { echo "$0: $label: no seconds figure (transformers '$p', omni '$o')" >&2; exit 1; }
        peer+=("$p"); omni+=("$o"); ratios+=("$(python3 -c "print($p / $o)")")
        echo "  $label round $r: transformers $p s, omni $o s" >&2
    done
    report "$label" "transformers f32 (PyTorch)" "$(median "${peer[@]}")" "$(median "${omni[@]}")" "$(median "${ratios[@]}")" "s"
}
row_audio_tower() { tower_row audio "audio tower 30 s, 7B"; }
row_vision_tower() { tower_row vision "vision tower 448², 7B"; }

# Tokenizer startup: the whole process on each side, five pairs a round.
row_tokenizer() {
    local dir="$DATA/qwen-standin" text="Hello world, this is a test of the tokenizer. 你好 привет 123" peer=() omni=() ratios=() p o
    cat > "$WORK/hf_tokenize.py" <<'PY'
import sys
from tokenizers import Tokenizer
t = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
print({"ids": t.encode(sys.argv[2], add_special_tokens=False).ids})
PY
    wall python3 "$WORK/hf_tokenize.py" "$dir" "$text" >/dev/null
    wall "$OMNI" tokenize "$dir" --text "$text" >/dev/null
    for ((r = 1; r <= ROUNDS * 5; r++)); do
        (( r % 5 == 1 )) && load_once
        p=$(wall python3 "$WORK/hf_tokenize.py" "$dir" "$text")
        o=$(wall "$OMNI" tokenize "$dir" --text "$text")
        peer+=("$p"); omni+=("$o"); ratios+=("$(python3 -c "print($p / $o)")")
    done
    echo "  tokenizer: HF $(IFS=' '; echo "${peer[*]}"); omni $(IFS=' '; echo "${omni[*]}")" >&2
    report "tokenizer.json load+encode" "HF tokenizers (Python process)" "$(median "${peer[@]}")" "$(median "${omni[@]}")" \
        "$(median "${ratios[@]}")" "s" "stand-in tokenizer.json, 151643 tokens"
}

# ---------------------------------------------------------------- setup and run
for r in $ROWS; do
    declare -F "row_$r" >/dev/null || { echo "$0: unknown row '$r' (rows: $(declare -F | sed -n 's/^declare -f row_//p' | tr '\n' ' '))" >&2; exit 2; }
done
if [[ $BUILD == 1 ]]; then
    flock "$LOCK" swift build -c release --product omni >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; exit 1; }
fi
[[ -x "$OMNI" ]] || { echo "$0: $OMNI is missing (run without --skip-build)" >&2; exit 1; }
cc -O2 -mavx2 -mfma -mf16c -pthread Benchmarks/matvec_streams.c -o "$WORK/matvec_streams"
missing=()
for t in bf16 q8_0 q4_0; do [[ -f "$DATA/qwen2-$t.gguf" ]] || missing+=("$t"); done
if [[ ! -f "$DATA/omni/config.json" ]]; then
    python3 Benchmarks/make_synthetic_qwen.py "$DATA"
elif [[ ${#missing[@]} -gt 0 ]]; then
    python3 Benchmarks/make_synthetic_qwen.py "$DATA" --no-omni --gguf "$(IFS=,; echo "${missing[*]}")"
fi
case " $ROWS " in *" audio_tower "*|*" vision_tower "*)
    [[ -f "$DATA/towers7b/model.safetensors" ]] || python3 Benchmarks/make_synthetic_towers7b.py "$DATA/towers7b" ;;
esac
case " $ROWS " in *" tokenizer "*)
    [[ -f "$DATA/qwen-standin/tokenizer.json" ]] || python3 Benchmarks/make_standin_tokenizer.py "$DATA/qwen-standin" ;;
esac

for r in $ROWS; do "row_$r"; done
ceiling_once

echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds, omni $OMNI"
echo "1-minute load average at each round's start: $(IFS=' '; echo "${LOADS[*]}") (now $(cut -d' ' -f1-3 /proc/loadavg))"
echo "read ceiling (matvec_streams read-only, $THREADS threads): median $(median "${CEILINGS[@]}") GB/s over ${#CEILINGS[@]} passes ($(IFS=' '; echo "${CEILINGS[*]}"))"
printf '%-26s %-30s %10s %10s %7s  %-9s %s\n' row peer peer omni ratio unit note
for line in "${RESULTS[@]}"; do echo "$line"; done
