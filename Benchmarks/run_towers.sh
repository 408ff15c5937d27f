#!/usr/bin/env bash
# The towers' and the tokenizer's rows of issue 16: now rows of Benchmarks/run_all.sh (one table, one script);
# this runs just those rows there. OMNI_NO_BUILD=1 skips the release build, OMNI=PATH times another binary.
#
#   Benchmarks/run_towers.sh [--rounds N] [--threads N] [--rows audio_tower,vision_tower,tokenizer]
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--rows audio_tower,vision_tower,tokenizer)
[[ -n "${OMNI_NO_BUILD:-}" ]] && args+=(--skip-build)
exec Benchmarks/run_all.sh "${args[@]}" "$@"
