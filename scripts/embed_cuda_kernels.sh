#!/usr/bin/env bash
# embed_cuda_kernels.sh KERNELS_DIR OUT.swift
# Writes OUT.swift: an enum `CUDAKernelSource` holding every KERNELS_DIR/*.cu (common.cu first, then the rest by
# name) as raw string literals, so the CUDA plugin carries its kernel source and NVRTC compiles it at run time.
# The build runs it (the EmbedCUDAKernels build-tool plugin, into the build folder); nothing generated is committed.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 KERNELS_DIR OUT.swift" >&2; exit 2; fi
dir=$1 out=$2
[ -f "$dir/common.cu" ] || { echo "$0: $dir/common.cu is missing (every kernel file builds on it)" >&2; exit 1; }
files=("$dir/common.cu")
for f in $(ls "$dir"/*.cu | sort); do [ "$f" = "$dir/common.cu" ] || files+=("$f"); done
{
    echo "// Generated at build time by scripts/embed_cuda_kernels.sh from $(basename "$dir")/*.cu: do not edit."
    echo ""
    echo "/// The CUDA C kernel sources, in compilation order (NVRTC compiles them as one program)."
    echo "enum CUDAKernelSource {"
    echo "    /// (file name, source text)."
    echo "    static let files: [(name: String, text: String)] = ["
    for f in "${files[@]}"; do
        if grep -q '"""#' "$f"; then echo "$0: $f contains \"\"\"#, which would end the raw string" >&2; exit 1; fi
        echo "        (\"$(basename "$f")\", #\"\"\""
        cat "$f"
        echo "\"\"\"#),"
    done
    echo "    ]"
    echo "}"
} > "$out.tmp"
mv "$out.tmp" "$out"
