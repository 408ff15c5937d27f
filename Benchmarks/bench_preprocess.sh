#!/usr/bin/env bash
# Audio preprocessing time (WAV → Whisper features → placeholder expansion) for 30 s and 300 s of audio, with the
# published checkpoint's 300 s window: a copy of the tiny checkpoint's text files with a flat
# preprocessor_config.json (chunk_length 300, as Qwen2.5-Omni-7B ships it). Needs python3 with numpy.
#
#   Benchmarks/bench_preprocess.sh        # builds release, prints wall time and peak RSS per length
set -euo pipefail
cd "$(dirname "$0")/.."
flock /tmp/omni-build.lock swift build -c release --product omni >/tmp/omni-bench-build.log 2>&1 \
    || { tail -20 /tmp/omni-bench-build.log; exit 1; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cp Models/tiny-omni/{config.json,tokenizer.json,tokenizer_config.json,vocab.json,merges.txt} "$DIR/"
python3 - "$DIR" <<'PY'
import json, sys, wave
import numpy as np
d = sys.argv[1]
fe = json.load(open("Models/tiny-omni/processor_config.json"))["feature_extractor"]
fe.update(chunk_length=300, n_samples=4800000, nb_max_frames=30000)
json.dump(fe, open(f"{d}/preprocessor_config.json", "w"))
for s in (30, 300):
    x = (np.sin(np.arange(16000 * s) * 0.05) * 0.3 * 32767).astype(np.int16)
    w = wave.open(f"{d}/a{s}.wav", "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes(x.tobytes()); w.close()
PY
for s in 30 300; do
    /usr/bin/time -f "$s s of audio: %e s wall, %M KB peak RSS" \
        .build/release/omni preprocess "$DIR" --prompt "What do you hear?" --audio "$DIR/a$s.wav" --out "$DIR/p.safetensors" >/dev/null
done
