#!/usr/bin/env bash
# Issue 4 benchmark: load the synthetic Qwen2.5-Omni-7B-shaped checkpoint and generate 8 tokens under several CPU
# budgets; prints peak RSS (VmHWM), the plan's predicted cpu peak, the device accounting and tokens/s.
# Usage: bash Benchmarks/run_budgets_7b.sh [BUDGETS...]   (default: 4GiB 8GiB 16GiB)
set -euo pipefail
cd "$(dirname "$0")/.."
data=.build-bench-data/omni7b
[ -f "$data/config.json" ] || python3 Benchmarks/make_synthetic_omni7b.py "$data"
swift build -c release --product omni >/dev/null
budgets=("$@"); [ ${#budgets[@]} -gt 0 ] || budgets=(4GiB 8GiB 16GiB)
for b in "${budgets[@]}"; do
    echo "=== --max-memory cpu=$b"
    /usr/bin/time -f "wall %e s, max RSS %M KiB (time)" .build/release/omni generate "$data" --prompt "Hello" \
        --max-new-tokens 8 --json --report-memory --max-memory "cpu=$b" 2>&1 | grep -v '^{'
done
