#!/bin/sh
# Builds the libFuzzer binary for the CLI's option parsing (every command's parse and validate(), through
# swift-argument-parser exactly as `omni` runs them) into .build/fuzz-cli. SwiftPM does not build libFuzzer
# binaries, so every module omni links is compiled here with the shared flags (Fuzz/common.sh), the C kernels
# with clang, and the omni module as a library whose @main entry point is renamed out of libFuzzer's way.
# Needs `swift build` once first (for the swift-argument-parser checkout). Takes several minutes.
# Usage: flock /tmp/swift-build.lock Fuzz/build-cli.sh   (then see Fuzz/README-reliability.md)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz-cli
AP=.build/checkouts/swift-argument-parser/Sources
[ -d "$AP/ArgumentParser" ] || { echo "run swift build first (no $AP)"; exit 1; }

# C kernels (run-time dispatch inside) and their module map.
mkdir -p "$B/ckernels"
for c in Sources/CKernels/*.c; do
    clang -O2 -fno-math-errno -fsanitize=address -I Sources/CKernels/include -c "$c" -o "$B/ckernels/$(basename "$c" .c).o"
done
ar rcs "$B/libCKernels.a" "$B"/ckernels/*.o
printf 'module CKernels {\n    header "%s/Sources/CKernels/include/CKernels.h"\n    export *\n}\n' "$PWD" > "$B/ckernels/module.modulemap"
K="-I $B/ckernels"
C="$K -I Sources/CBLAS -I Sources/CZstd"  # every module above the plugins sees their C modules

fuzz_module OmniCore -- Sources/OmniCore
fuzz_module OmniExec $K -I Sources/CBLAS -- Sources/OmniExec
fuzz_module Qwen25Omni -- Sources/Qwen25Omni
fuzz_module DTypeStandard $K -- Plugins/DTypeStandard
fuzz_module FormatSafetensors -- Plugins/FormatSafetensors
fuzz_module FormatTorchPickle -- Plugins/FormatTorchPickle
fuzz_module FormatGGUF -- Plugins/FormatGGUF
fuzz_module FormatZstd -I Sources/CZstd -- Plugins/FormatZstd
fuzz_module AttentionEager $K -I Sources/CBLAS -- Plugins/AttentionEager
fuzz_module AttentionFlash2 $K -I Sources/CBLAS -- Plugins/AttentionFlash2
fuzz_module PlacementStrategies -- Plugins/PlacementStrategies
fuzz_module BuiltinPlugins $C -- Plugins/BuiltinPlugins
fuzz_module SwiftOmni $C -- Sources/SwiftOmni
fuzz_module ArgumentParserToolInfo -- "$AP/ArgumentParserToolInfo"
# Its folders have spaces ("Parsable Properties"), which fuzz_module's file list cannot carry: copy flat (names are unique).
rm -rf "$B/apsrc" && mkdir -p "$B/apsrc" && find "$AP/ArgumentParser" -name '*.swift' -exec cp {} "$B/apsrc/" \;
fuzz_module ArgumentParser -- "$B/apsrc"
fuzz_module omni $C -enable-testing -Xfrontend -entry-point-function-name -Xfrontend omni_main -- Sources/omni
fuzz_target fuzz-cli Fuzz/FuzzCLI.swift $C -lomni -lSwiftOmni -lBuiltinPlugins -lPlacementStrategies -lAttentionFlash2 \
    -lAttentionEager -lFormatZstd -lFormatGGUF -lFormatTorchPickle -lFormatSafetensors -lDTypeStandard -lQwen25Omni \
    -lOmniExec -lArgumentParser -lArgumentParserToolInfo -lOmniCore -lCKernels -lopenblas -lzstd
echo "built $B/fuzz-cli"
