#!/usr/bin/env bash
# Installs swift-omni's system dependencies on Debian/Ubuntu when they are missing (OpenBLAS, zstd, pkg-config; for
# the default FFmpeg trait FFmpeg's libraries and libjpeg; the ffmpeg CLI, which tests use to make media and references).
set -euo pipefail
need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
for lib in libavformat libavcodec libswscale libswresample libavutil; do
    pkg-config --exists "$lib" 2>/dev/null || need+=("$lib-dev")
done
pkg-config --exists libjpeg 2>/dev/null || need+=(libjpeg-dev)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
