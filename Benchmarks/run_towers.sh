#!/usr/bin/env bash
# The towers' and the tokenizer's rows of issue 16, side by side with their peers in one run, interleaved
# (peer, omni, peer, omni … for --rounds rounds); prints medians and the median of the per-round ratios
# peer seconds / omni seconds (higher is better for omni).
#
#   Benchmarks/run_towers.sh [--rounds N] [--threads N] [--rows audio_tower,vision_tower,tokenizer]
#
# Rows (each a `row_NAME` function in the style of Benchmarks/run_all.sh, so they can move there as they are):
#   audio_tower   30 s of random mel features through the audio tower at the 7B shapes: `omni bench towers`
#                 (bf16 weights of Benchmarks/make_synthetic_towers7b.py) vs transformers f32
#                 (Benchmarks/towers_transformers.py, random f32 weights of the same shapes), each its own median
#                 of one timed forward after a warm-up.
#   vision_tower  one 448×448 image (1024 patches) through the vision tower, the same way.
#   tokenizer     the whole process `omni tokenize DIR --text …` vs Python + HF tokenizers loading the same
#                 tokenizer.json and encoding the same text, on a stand-in for Qwen2.5's tokenizer.json
#                 (Benchmarks/make_standin_tokenizer.py: 151,643 tokens, 151,387 merges, 11.7 MB; the real file
#                 cannot be downloaded here). Five pairs a round, after one warm-up of each (omni's writes its
#                 tokenizer cache, as any first load does).
#
# Every measurement runs under the lock file $OMNI_BENCH_LOCK (default /tmp/swift-build.lock), so no build on
# this machine overlaps a timing. OMNI=PATH times another omni binary (a build of main, for before/after), and
# OMNI_NO_BUILD=1 skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3; THREADS=2
ROWS="audio_tower vision_tower tokenizer"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --rows) ROWS="${2//,/ }"; shift 2 ;;
        *) echo "usage: $0 [--rounds N] [--threads N] [--rows audio_tower,vision_tower,tokenizer]" >&2; exit 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ ]] \
    || { echo "$0: --rounds and --threads take positive integers" >&2; exit 2; }

LOCK=${OMNI_BENCH_LOCK:-/tmp/swift-build.lock}
DATA=.build-bench-data
OMNI=${OMNI:-.build/release/omni}
WORK=$(mktemp -d /tmp/omni-run-towers.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RESULTS=()

median() { python3 -c 'import statistics,sys; v=[float(a) for a in sys.argv[1:]]; print(f"{statistics.median(v):.3f}" if v else "nan")' "$@"; }
timed() {
    if ! flock "$LOCK" "$@" 2>"$WORK/stderr"; then
        echo "failed: $*" >&2; tail -20 "$WORK/stderr" >&2; return 1
    fi
}
report() {
    RESULTS+=("$(printf '%-26s %-30s %10s %10s %7s  %-9s %s' "$1" "$2" "$3" "$4" "$5" "$6" "${7:-}")")
}
# wall SECONDS of one whole process (under the lock), stdout discarded.
wall() {
    flock "$LOCK" python3 -c 'import subprocess,sys,time
t=time.perf_counter(); r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
s=time.perf_counter()-t
if r.returncode: sys.stderr.write(r.stderr.decode()); sys.exit(1)
print(f"{s:.4f}")' "$@"
}

# ---------------------------------------------------------------- rows
tower_row() {   # audio|vision label
    local which=$1 label=$2 peer=() omni=() ratios=() p o args
    if [[ $which == audio ]]; then args=(--audio-seconds 30 --image-size 0); else args=(--audio-seconds 0 --image-size 448); fi
    for ((r = 1; r <= ROUNDS; r++)); do
        p=$(timed python3 Benchmarks/towers_transformers.py "${args[@]}" --runs 1 --threads "$THREADS" \
            | sed -n "s/^$which tower: .* in \([0-9.]*\) s .*/\1/p")
        o=$(timed "$OMNI" bench towers "$DATA/towers7b" "${args[@]}" --runs 1 --threads "$THREADS" \
            | sed -n "s/^$which tower: .* in \([0-9.]*\) s .*/\1/p")
        peer+=("$p"); omni+=("$o"); ratios+=("$(python3 -c "print($p / $o)")")
        echo "  $label round $r: transformers $p s, omni $o s" >&2
    done
    report "$label" "transformers f32 (PyTorch)" "$(median "${peer[@]}")" "$(median "${omni[@]}")" "$(median "${ratios[@]}")" "s"
}
row_audio_tower() { tower_row audio "audio tower 30 s, 7B"; }
row_vision_tower() { tower_row vision "vision tower 448², 7B"; }

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
    declare -F "row_$r" >/dev/null || { echo "$0: unknown row '$r'" >&2; exit 2; }
done
if [[ -z "${OMNI_NO_BUILD:-}" ]]; then
    flock "$LOCK" swift build -c release --product omni >"$WORK/build.log" 2>&1 || { tail -20 "$WORK/build.log"; exit 1; }
fi
[[ -f "$DATA/towers7b/model.safetensors" ]] || python3 Benchmarks/make_synthetic_towers7b.py "$DATA/towers7b"
[[ -f "$DATA/qwen-standin/tokenizer.json" ]] || python3 Benchmarks/make_standin_tokenizer.py "$DATA/qwen-standin"

for r in $ROWS; do "row_$r"; done

echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %-30s %10s %10s %7s  %-9s %s\n' row peer peer omni ratio unit note
for line in "${RESULTS[@]}"; do echo "$line"; done
