#!/bin/sh
# Builds libFuzzer binaries for the safetensors reader (header + index) and the torch zip/unpickler into
# .build/fuzz-formats (same flags as Fuzz/build.sh; a separate folder so the scripts never collide).
# Usage: flock /tmp/omni-build.lock Fuzz/build-formats.sh   (then see Fuzz/README-formats.md to run them)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz-formats
fuzz_module OmniCore -- Sources/OmniCore
fuzz_module FormatSafetensors -- Plugins/FormatSafetensors
fuzz_module FormatTorchPickle -- Plugins/FormatTorchPickle
fuzz_target fuzz-safetensors Fuzz/FuzzSafetensors.swift -lFormatSafetensors -lOmniCore
fuzz_target fuzz-torch Fuzz/FuzzTorch.swift -lFormatTorchPickle -lOmniCore
echo "built $B/fuzz-safetensors $B/fuzz-torch"
