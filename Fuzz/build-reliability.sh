#!/bin/sh
# Builds the libFuzzer binary for the config reader (and what loading does with a config before it builds
# anything) into .build/fuzz-reliability (same flags as Fuzz/build.sh; its own folder so scripts never collide).
# Usage: flock /tmp/swift-build.lock Fuzz/build-reliability.sh   (then see Fuzz/README-reliability.md)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz-reliability
fuzz_module OmniCore -- Sources/OmniCore
fuzz_module Qwen25Omni -- Sources/Qwen25Omni
fuzz_target fuzz-config Fuzz/FuzzConfig.swift -lQwen25Omni -lOmniCore
echo "built $B/fuzz-config"
