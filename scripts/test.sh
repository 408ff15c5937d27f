#!/usr/bin/env bash
# The test command: debug build of everything (library, CLI, samples, tests), the whole XCTest suite, then the
# samples run once against the bundled tiny checkpoint so they cannot rot, the app check (scripts/app_check.sh:
# a throwaway package depends on a tagged clone by version and generates), then the CLI end-to-end tests once more
# against a release build of `omni` (the optimizer shortens object lifetimes, so some memory bugs show only
# there), and last the session tests under the thread sanitizer (8 sessions generating at once on one model, each
# getting its own tokens, and the video reader's decoding thread, with no data race reported; a separate build in
# .build-tsan). Ends with a "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
log=$(mktemp) release_log=$(mktemp) tsan_log=$(mktemp)
trap 'rm -f "$log" "$release_log" "$tsan_log"' EXIT
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log"
echo "== samples"
.build/debug/EmbedLoader Models/tiny-omni > /dev/null
.build/debug/CustomAttention Models/tiny-omni
.build/debug/ConvertWeights Models/tiny-omni "$(mktemp -d)"
echo "== app check: a package that depends on swift-omni by version"
bash scripts/app_check.sh
echo "== CLI tests against the release build"
swift build -c release --product omni
OMNI_CLI="$PWD/.build/release/omni" swift test --skip-build --disable-swift-testing --filter 'OmniCLITests.(CLITests|HostileInputTests)' 2>&1 | tee "$release_log"
echo "== thread sanitizer: many sessions on one model"
swift build --build-tests --build-path .build-tsan --sanitize=thread
TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" swift test --skip-build --build-path .build-tsan --sanitize=thread \
    --disable-swift-testing --filter 'Qwen25OmniTests.SessionConcurrencyTests|PluginTests.MediaDecoderTests' 2>&1 | tee "$tsan_log"
total=0 failed=0
for l in "$log" "$release_log" "$tsan_log"; do
    summary=$(grep -E "Executed [0-9]+ tests?, with .*[0-9]+ failures?" "$l" | tail -1)
    total=$((total + $(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')))
    failed=$((failed + $(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')))
done
echo "tests: $((total - failed)) passed, $failed failed"
