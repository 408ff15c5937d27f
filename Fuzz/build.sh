#!/bin/sh
# Builds libFuzzer binaries for the GGUF reader and the zstd container into .build/fuzz.
# Usage: flock /tmp/omni-build.lock Fuzz/build.sh   (then see Fuzz/README.md to run them)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz
fuzz_module OmniCore -- Sources/OmniCore
fuzz_module FormatGGUF -- Plugins/FormatGGUF
fuzz_module FormatZstd -I Sources/CZstd -- Plugins/FormatZstd
fuzz_target fuzz-gguf Fuzz/FuzzGGUF.swift -lFormatGGUF -lOmniCore
fuzz_target fuzz-zstd Fuzz/FuzzZstd.swift -I Sources/CZstd -lFormatZstd -lOmniCore -lzstd
echo "built $B/fuzz-gguf $B/fuzz-zstd"
