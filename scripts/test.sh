#!/usr/bin/env bash
# The test command: debug build of everything (library, CLI, samples, tests), the whole suite, then the samples
# run once against the bundled tiny checkpoint so they cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
echo "== samples"
.build/debug/EmbedLoader Models/tiny-omni > /dev/null
.build/debug/CustomAttention Models/tiny-omni
.build/debug/ConvertWeights Models/tiny-omni "$(mktemp -d)"
