#!/usr/bin/env bash
# Decode tokens/s of two omni binaries, paired: per round and dtype one hold of the build lock runs both
# (`omni bench decode DATA/omni --dtype D --threads 2 --new-tokens 64 --runs 1`), A first in odd rounds and B first
# in even ones, so an edge of the second run of a pair (warm page cache, clocks) cancels over the rounds. Prints
# one line per pair with the load average at its start and B / A.
#
#   Benchmarks/ab_decode.sh A_BINARY B_BINARY ROUNDS DTYPE…      e.g. /tmp/omni-main .build/release/omni 4 q8_0 q4_0 bf16
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 4 ]] || { echo "usage: $0 A_BINARY B_BINARY ROUNDS DTYPE…" >&2; exit 2; }
A=$1 B=$2 ROUNDS=$3; shift 3
DATA=.build-bench-data
[[ -f "$DATA/omni/config.json" ]] || python3 Benchmarks/make_synthetic_qwen.py "$DATA" --no-gguf
export A B DATA
for r in $(seq 1 "$ROUNDS"); do
    for dt in "$@"; do
        flock /tmp/swift-build.lock bash -c '
            run() { "$1" bench decode "$DATA/omni" --dtype "$2" --threads 2 --new-tokens 64 --runs 1 2>/dev/null \
                        | sed -n "s/^decode: \([0-9.]*\) tokens.*/\1/p"; }
            l=$(cut -d" " -f1 /proc/loadavg)
            if (( $0 % 2 )); then a=$(run "$A" "$1"); b=$(run "$B" "$1"); o="A first"; else b=$(run "$B" "$1"); a=$(run "$A" "$1"); o="B first"; fi
            echo "round $0 $1 ($o) load $l A $a B $b B/A $(python3 -c "print(round($b / $a, 3))")"' "$r" "$dt"
    done
done
