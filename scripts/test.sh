#!/usr/bin/env bash
# The test command: debug build of everything (CLI, samples, tests), then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
