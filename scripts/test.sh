#!/usr/bin/env bash
# The test command: debug build of everything (library, CLI, samples, tests), the whole XCTest suite, then the
# samples run once against the bundled tiny checkpoint so they cannot rot. Ends with a "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
echo "== samples"
.build/debug/EmbedLoader Models/tiny-omni > /dev/null
.build/debug/CustomAttention Models/tiny-omni
.build/debug/ConvertWeights Models/tiny-omni "$(mktemp -d)"
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
echo "tests: $((total - failed)) passed, $failed failed"
