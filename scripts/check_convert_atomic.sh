#!/usr/bin/env bash
# Checks that `omni convert` output is atomic (issue 15):
#   1. KILLS runs of convert killed with SIGKILL at a random point; after each, OUT either does not exist or is
#      complete (config.json, tokenizer files, spk_dict.safetensors, weights; `omni inspect` accepts it), OUT holds
#      no hidden file, and the next convert to OUT removes the killed run's temporary and succeeds.
#   2. PAIRS pairs of converts to one OUT started together: exactly one succeeds, the other fails cleanly
#      (exit 1…125), OUT is complete, and no temporary is left beside it.
# Usage: scripts/check_convert_atomic.sh [OMNI] [MODEL] [KILLS] [PAIRS]   (defaults: .build/debug/omni Models/tiny-omni 20 20)
# Prints one line per trial and a summary; exits 1 on any violation.
set -uo pipefail
cd "$(dirname "$0")/.."
omni=${1:-.build/debug/omni}
model=${2:-Models/tiny-omni}
kills=${3:-20}
pairs=${4:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A complete OUT: every auxiliary file of MODEL, the converted speakers, and weights inspect can open.
check_complete() {
    local out=$1 f
    for f in $(cd "$model" && ls *.json *.txt 2>/dev/null | grep -v '\.index\.json$'); do
        [ -f "$out/$f" ] || { fail "$out lacks $f"; return; }
    done
    if [ -f "$model/spk_dict.pt" ] && [ ! -f "$out/spk_dict.safetensors" ]; then fail "$out lacks spk_dict.safetensors"; fi
    hidden=$(find "$out" -name '.*' | head -3)
    [ -z "$hidden" ] || fail "hidden files in $out: $hidden"
    "$omni" inspect "$out" > /dev/null 2>&1 || fail "inspect rejects the complete-looking $out"
}

# Reference run time, to spread the kills over the whole conversion.
start=$(date +%s%N)
"$omni" convert "$model" "$work/ref" --format safetensors > /dev/null || { echo "reference convert failed"; exit 1; }
ref_ns=$(( $(date +%s%N) - start ))
check_complete "$work/ref"
echo "reference convert: $((ref_ns / 1000000)) ms"

killed_mid=0 stale_removed=0
for i in $(seq 1 "$kills"); do
    dir="$work/kill$i"; mkdir "$dir"; out="$dir/out"
    format=$([ $((i % 2)) -eq 0 ] && echo zstd || echo safetensors)
    delay_us=$(( (RANDOM * 32768 + RANDOM) % (ref_ns / 1000 * 3 / 2 + 1) ))
    "$omni" convert "$model" "$out" --format "$format" > /dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%06d' "$delay_us")" 2>/dev/null || sleep 0
    kill -KILL "$pid" 2>/dev/null && killed=yes || killed=no
    wait "$pid" 2>/dev/null
    state="absent"
    if [ -e "$out" ]; then state="complete"; check_complete "$out"; fi
    temps=$(ls -A "$dir" | grep -c '^\.' || true)
    [ "$killed" = yes ] && [ "$state" = absent ] && killed_mid=$((killed_mid + 1))
    # The next run to OUT (when the killed one did not finish) removes the temporary and completes.
    if [ "$state" = absent ]; then
        "$omni" convert "$model" "$out" --format "$format" > /dev/null 2>&1 || fail "rerun after kill $i failed"
        check_complete "$out"
        left=$(ls -A "$dir" | grep -c '^\.' || true)
        [ "$left" -eq 0 ] || fail "kill $i: $left temporaries left beside OUT after the rerun"
        [ "$temps" -gt 0 ] && stale_removed=$((stale_removed + temps))
    fi
    echo "kill $i ($format) after ${delay_us} us: killed=$killed, OUT $state, temporaries beside OUT $temps"
done

for i in $(seq 1 "$pairs"); do
    dir="$work/pair$i"; mkdir "$dir"; out="$dir/out"
    "$omni" convert "$model" "$out" --format safetensors > "$dir/a.log" 2>&1 & a=$!
    second=$([ $((i % 2)) -eq 0 ] && echo safetensors || echo zstd)  # even pairs race two identical runs
    "$omni" convert "$model" "$out" --format "$second" > "$dir/b.log" 2>&1 & b=$!
    wait "$a"; ra=$?; wait "$b"; rb=$?
    ok=0
    [ "$ra" -eq 0 ] && ok=$((ok + 1)); [ "$rb" -eq 0 ] && ok=$((ok + 1))
    for r in $ra $rb; do [ "$r" -le 125 ] || fail "pair $i: exit $r (signal?)"; done
    [ "$ok" -eq 1 ] || fail "pair $i: $ok runs succeeded (exits $ra, $rb)"
    [ -d "$out" ] && check_complete "$out" || fail "pair $i: no OUT"
    left=$(ls -A "$dir" | grep -v '^[ab].log$' | grep -c '^\.' || true)
    [ "$left" -eq 0 ] || fail "pair $i: $left temporaries left"
    echo "pair $i: exits $ra/$rb, winner $( [ "$ra" -eq 0 ] && echo "first (safetensors)" || echo "second ($second)" ), loser says: $(grep -h Error "$dir/a.log" "$dir/b.log" | head -1 | cut -c1-120)"
done
echo "summary: $kills kills ($killed_mid mid-run, $stale_removed stale temporaries removed by the next run), $pairs concurrent pairs, $failures violations"
[ "$failures" -eq 0 ]
