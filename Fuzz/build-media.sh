#!/bin/sh
# Builds the libFuzzer binary for the media decoders (WAV, PPM) and what follows them (resampler, Whisper
# features) into .build/fuzz-media (same flags as Fuzz/build.sh; its own folder so the scripts never collide).
# Usage: flock /tmp/omni-build.lock Fuzz/build-media.sh   (then see Fuzz/README-media.md to run it)
set -eu
cd "$(dirname "$0")/.."
B=.build/fuzz-media
mkdir -p "$B"
F="-sanitize=fuzzer,address -parse-as-library -O -g -I $B"
swiftc $F -module-name OmniCore -emit-module -emit-module-path $B/OmniCore.swiftmodule \
  -emit-library -static -o $B/libOmniCore.a $(find Sources/OmniCore -name '*.swift')
swiftc $F -module-name Qwen25Omni -emit-module -emit-module-path $B/Qwen25Omni.swiftmodule \
  -emit-library -static -o $B/libQwen25Omni.a $(find Sources/Qwen25Omni -name '*.swift')
swiftc $F -module-name FuzzMedia Fuzz/FuzzMedia.swift -L $B -lQwen25Omni -lOmniCore -o $B/fuzz-media
echo "built $B/fuzz-media"
