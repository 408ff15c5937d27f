#!/bin/sh
# Builds the libFuzzer binaries for the media decoders into .build/fuzz-media (same flags as Fuzz/build.sh; its own
# folder so the scripts never collide): fuzz-media (WAV, PPM, and what follows them: resampler, Whisper features)
# and, when FFmpeg's -dev packages are installed, fuzz-media-ffmpeg (the FFmpeg plugin: images, audio, video).
# Usage: flock /tmp/omni-build.lock Fuzz/build-media.sh   (then see Fuzz/README-media.md to run it)
set -eu
cd "$(dirname "$0")/.."
. Fuzz/common.sh
fuzz_setup .build/fuzz-media
fuzz_module OmniCore -- Sources/OmniCore
fuzz_module Qwen25Omni -- Sources/Qwen25Omni
fuzz_module MediaBasic -- Plugins/MediaBasic
fuzz_target fuzz-media Fuzz/FuzzMedia.swift -lMediaBasic -lQwen25Omni -lOmniCore
echo "built $B/fuzz-media"
if pkg-config --exists libavformat libavcodec libswscale libswresample libavutil libjpeg; then
    # The C pieces: libjpeg's longjmp wrapper (instrumented) and module maps for it and for FFmpeg's headers.
    clang -c -g -O1 -fsanitize=fuzzer-no-link,address -I Sources/CMediaJPEG/include Sources/CMediaJPEG/jpeg.c -o "$B/jpeg.o"
    ar rcs "$B/libCMediaJPEG.a" "$B/jpeg.o"
    mkdir -p "$B/cmods/CMediaJPEG"
    printf 'module CMediaJPEG {\n    header "%s/Sources/CMediaJPEG/include/omni_jpeg.h"\n    export *\n}\n' "$PWD" > "$B/cmods/CMediaJPEG/module.modulemap"
    # shellcheck disable=SC2046
    fuzz_module MediaFFmpeg -D FFmpeg -I Sources/CFFmpeg -I "$B/cmods/CMediaJPEG" $(pkg-config --cflags-only-I libavformat | sed 's/-I/-Xcc -I/g') -- Plugins/MediaFFmpeg
    # shellcheck disable=SC2046
    fuzz_target fuzz-media-ffmpeg Fuzz/FuzzMediaFFmpeg.swift -I Sources/CFFmpeg -I "$B/cmods/CMediaJPEG" -lMediaFFmpeg -lOmniCore \
        -lCMediaJPEG $(pkg-config --libs libavformat libavcodec libswscale libswresample libavutil libjpeg)
    echo "built $B/fuzz-media-ffmpeg"
fi
