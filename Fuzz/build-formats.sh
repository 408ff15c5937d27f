#!/bin/sh
# Builds libFuzzer binaries for the safetensors reader (header + index) and the torch zip/unpickler into
# .build/fuzz-formats (same flags as Fuzz/build.sh; a separate folder so the two scripts never collide).
# Usage: flock /tmp/omni-build.lock Fuzz/build-formats.sh   (then see Fuzz/README-formats.md to run them)
set -eu
cd "$(dirname "$0")/.."
B=.build/fuzz-formats
mkdir -p "$B"
F="-sanitize=fuzzer,address -parse-as-library -O -g -I $B"
swiftc $F -module-name OmniCore -emit-module -emit-module-path $B/OmniCore.swiftmodule \
  -emit-library -static -o $B/libOmniCore.a Sources/OmniCore/*.swift
swiftc $F -module-name FormatSafetensors -emit-module -emit-module-path $B/FormatSafetensors.swiftmodule \
  -emit-library -static -o $B/libFormatSafetensors.a Plugins/FormatSafetensors/*.swift
swiftc $F -module-name FormatTorchPickle -emit-module -emit-module-path $B/FormatTorchPickle.swiftmodule \
  -emit-library -static -o $B/libFormatTorchPickle.a Plugins/FormatTorchPickle/*.swift
swiftc $F -module-name FuzzSafetensors Fuzz/FuzzSafetensors.swift -L $B -lFormatSafetensors -lOmniCore \
  -o $B/fuzz-safetensors
swiftc $F -module-name FuzzTorch Fuzz/FuzzTorch.swift -L $B -lFormatTorchPickle -lOmniCore -o $B/fuzz-torch
echo "built $B/fuzz-safetensors $B/fuzz-torch"
