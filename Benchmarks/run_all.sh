#!/usr/bin/env bash
# The whole CPU table of issue 16 in one go: every row runs its peer and `omni` side by side, interleaved
# (peer, omni, peer, omni … for --rounds rounds), and prints the medians and the median of the per-round
# ratios omni/peer (higher is better for omni on every row: rates, or peer seconds / omni seconds).
#
#   Benchmarks/run_all.sh [--rounds N] [--threads N] [--tg N] [--rows a,b,…] [--skip-build]
#
# It also measures the machine's read ceiling in the same run (Benchmarks/matvec_streams.c, read-only pass
# over 557 MB, once per decode round) and prints each decode row as a fraction of it: weight bytes a decode
# step reads (every thinker weight but the embedding table, in the dtype the step reads them) × tokens/s.
#
# ROWS: each row is one shell function `row_NAME` below, listed in ROWS in table order; it measures with the
# helpers (`timed`, `ceiling_once`) and ends with one call to `report`. To add a row (audio tower, vision
# tower, tokenizer …), write one such function and add its name to ROWS; nothing else needs to change.
#
# Needs: python3 with numpy and gguf (synthetic checkpoints), llama-cpp-python (the llama.cpp peer), a C
# compiler (cc) for the ceiling. Builds `omni` in release. Every build and every measurement runs under
# the lock file $OMNI_BENCH_LOCK (default /tmp/swift-build.lock), so no build on this machine overlaps a
# timing; other, unlocked load can still share the CPU, which is why rows are interleaved and ratios are
# taken round by round.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3; THREADS=2; TG=64; BUILD=1
ROWS="decode_bf16 decode_q8_0 decode_q4_0"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --tg) TG="$2"; shift 2 ;;
        --rows) ROWS="${2//,/ }"; shift 2 ;;
        --skip-build) BUILD=0; shift ;;
        *) echo "usage: $0 [--rounds N] [--threads N] [--tg N] [--rows decode_bf16,decode_q8_0,…] [--skip-build]" >&2; exit 2 ;;
    esac
done
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ && "$TG" =~ ^[1-9][0-9]*$ ]] \
    || { echo "$0: --rounds, --threads and --tg take positive integers" >&2; exit 2; }

LOCK=${OMNI_BENCH_LOCK:-/tmp/swift-build.lock}
DATA=.build-bench-data
OMNI=.build/release/omni
WORK=$(mktemp -d /tmp/omni-run-all.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RESULTS=()          # one formatted line per row
CEILINGS=()         # GB/s, every read-ceiling pass of this run

# ---------------------------------------------------------------- helpers
median() { python3 -c 'import statistics,sys; v=[float(a) for a in sys.argv[1:]]; print(f"{statistics.median(v):.2f}" if v else "nan")' "$@"; }

# timed CMD…: runs CMD under the lock, prints its stdout (stderr goes to $WORK/stderr, shown on failure).
timed() {
    if ! flock "$LOCK" "$@" 2>"$WORK/stderr"; then
        echo "failed: $*" >&2; tail -20 "$WORK/stderr" >&2; return 1
    fi
}

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
        ceiling_once; c=$CEILING; ceil+=("$c")
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

for r in $ROWS; do "row_$r"; done
ceiling_once

echo
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds"
echo "read ceiling (matvec_streams read-only, $THREADS threads): median $(median "${CEILINGS[@]}") GB/s over ${#CEILINGS[@]} passes ($(IFS=' '; echo "${CEILINGS[*]}"))"
printf '%-26s %-30s %10s %10s %7s  %-9s %s\n' row peer peer omni ratio unit note
for line in "${RESULTS[@]}"; do echo "$line"; done
