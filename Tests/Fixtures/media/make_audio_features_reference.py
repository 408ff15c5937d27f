# Compressed audio files and transformers' Whisper features of ffmpeg's f32 decode of them (issue 10): what our
# decoders + WhisperFeatureExtractor must reproduce from the same files.
#   python3 make_audio_features_reference.py   (ffmpeg CLI, transformers 5.24.0; writes audio/*.mp3, *.flac, *.ogg and
#   audio/features.safetensors)
# The source: 2.5 s of a stereo two-tone chirp at 44.1 kHz (different content per channel). Each file is decoded by
# `ffmpeg -i F -f f32le -ac 2 -ar 16000 -` (resampled by libswresample, as our decoder asks it to), the channels
# averaged as qwen-omni-utils' librosa.load(mono=True) does (ffmpeg's own -ac 1 mixes stereo at 1/√2 each), and
# given to WhisperFeatureExtractor with the tiny fixture's feature_extractor settings (padded to 30 s as the processor
# does): NAME.input_features_head, the first 300 of its 3000 frames [1, 128, 300] f32 (the 250 valid ones and 50 of
# padding; the file stays small), and NAME.valid_frames (the attention mask's sum) [1] i64.
import json, os, subprocess, tempfile
import numpy as np
from safetensors.numpy import save_file
import transformers
from transformers import WhisperFeatureExtractor

here = os.path.dirname(os.path.abspath(__file__))
cfg = json.load(open(os.path.join(here, "../../../Models/tiny-omni/processor_config.json")))["feature_extractor"]
cfg = {k: v for k, v in cfg.items() if k != "feature_extractor_type"}
fe = WhisperFeatureExtractor(**cfg)

rate, seconds = 44100, 2.5
t = np.arange(int(rate * seconds)) / rate
left = 0.4 * np.sin(2 * np.pi * (220 + 300 * t) * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)
right = 0.3 * np.sin(2 * np.pi * (660 - 100 * t) * t) * np.exp(-0.3 * t)
pcm = (np.stack([left, right], -1) * 32767).round().astype("<i2")
os.makedirs(os.path.join(here, "audio"), exist_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, "src.raw")
    pcm.tofile(raw)
    src = ["-f", "s16le", "-ar", str(rate), "-ac", "2", "-i", raw]
    for name, codec in [("chirp.mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]), ("chirp.flac", ["-c:a", "flac"]),
                        ("chirp.ogg", ["-c:a", "libopus", "-b:a", "48k"])]:
        subprocess.run(["ffmpeg", "-v", "error", "-y"] + src + codec + ["-map_metadata", "-1", os.path.join(here, "audio", name)], check=True)

out = {}
for name in ["chirp.flac", "chirp.mp3", "chirp.ogg"]:
    f32 = subprocess.run(["ffmpeg", "-v", "error", "-i", os.path.join(here, "audio", name), "-f", "f32le", "-ac", "2",
                          "-ar", "16000", "-"], check=True, capture_output=True).stdout
    wave = np.frombuffer(f32, dtype="<f4").reshape(-1, 2).mean(axis=1).astype(np.float32)
    r = fe(wave, sampling_rate=16000, return_attention_mask=True, padding="max_length", return_tensors="np")
    out[name + ".input_features_head"] = np.ascontiguousarray(r["input_features"][:, :, :300], dtype=np.float32)
    out[name + ".valid_frames"] = np.array([int(r["attention_mask"].sum())], dtype=np.int64)
save_file(out, os.path.join(here, "audio", "features.safetensors"),
          metadata={"transformers": transformers.__version__, "ffmpeg": subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split("\n")[0]})
print("transformers", transformers.__version__, {k: v.shape for k, v in out.items()})
