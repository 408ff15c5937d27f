#!/bin/sh
# Builds the libFuzzer binary for the media decoders (WAV, PPM) and what follows them (resampler, Whisper
# features) into .build/fuzz-media (same flags as Fuzz/build.sh; its own folder so the scripts never collide).
# Usage: flock /tmp/omni-build.lock Fuzz/build-media.sh   (then see Fuzz/README-media.md to run it)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz-media
fuzz_module OmniCore -- Sources/OmniCore
fuzz_module Qwen25Omni -- Sources/Qwen25Omni
fuzz_target fuzz-media Fuzz/FuzzMedia.swift -lQwen25Omni -lOmniCore
echo "built $B/fuzz-media"
