#!/bin/sh
# Issue 14: peak activation memory against input length on the Qwen2.5-Omni-7B shapes, planned vs measured.
#   python3 Benchmarks/make_synthetic_omni7b.py .build-bench-data/omni7b   (21.5 GB of random bf16, once)
#   swift build && sh Benchmarks/run_activations_7b.sh [path/to/omni]
# The weights stay on the disk tier (--device-map thinker=disk: paged in per layer), so this runs in a few GiB.
# One process per row: the RssAnon growth column is then that row's alone (a process reuses heap earlier rows freed).
OMNI=${1:-.build/debug/omni}
O="$OMNI bench activations .build-bench-data/omni7b --device-map thinker=disk --threads 2"
for n in 32 64 128; do $O --prefill $n --prefill-chunk 32; done
$O --prefill 128
for s in 2 4 8 16; do $O --audio-seconds $s --audio-windows 1; done
$O --audio-seconds 8
$O --audio-seconds 16
for t in 1 2 4 8; do $O --video-slices $t --vision-slices 1 --frame-size 112; done
$O --video-slices 8 --frame-size 112
