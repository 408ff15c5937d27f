#!/bin/sh
# Builds libFuzzer binaries for the GGUF reader and the zstd container into .build/fuzz.
# Usage: flock /tmp/omni-build.lock Fuzz/build.sh   (then see Fuzz/README.md to run them)
set -eu
cd "$(dirname "$0")/.."
B=.build/fuzz
mkdir -p "$B"
F="-sanitize=fuzzer,address -parse-as-library -O -g -I $B"
swiftc $F -module-name OmniCore -emit-module -emit-module-path $B/OmniCore.swiftmodule \
  -emit-library -static -o $B/libOmniCore.a Sources/OmniCore/*.swift
swiftc $F -module-name FormatGGUF -emit-module -emit-module-path $B/FormatGGUF.swiftmodule \
  -emit-library -static -o $B/libFormatGGUF.a Plugins/FormatGGUF/*.swift
swiftc $F -I Sources/CZstd -module-name FormatZstd -emit-module -emit-module-path $B/FormatZstd.swiftmodule \
  -emit-library -static -o $B/libFormatZstd.a Plugins/FormatZstd/*.swift
swiftc $F -module-name FuzzGGUF Fuzz/FuzzGGUF.swift -L $B -lFormatGGUF -lOmniCore -o $B/fuzz-gguf
swiftc $F -I Sources/CZstd -module-name FuzzZstd Fuzz/FuzzZstd.swift -L $B -lFormatZstd -lOmniCore -lzstd -o $B/fuzz-zstd
echo "built $B/fuzz-gguf $B/fuzz-zstd"
