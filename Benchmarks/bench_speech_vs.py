"""Speech benchmark side by side: swift-omni's `omni bench talker|token2wav|speak --model DIR` against
Benchmarks/bench_speech_transformers.py on the same synthetic safetensors, interleaved A B A B in one run, at
2 threads; prints each pair's figures, the ratios, and the medians.

    python3 Benchmarks/make_synthetic_speech.py /tmp/speech7b
    swift build -c release --product omni
    python3 Benchmarks/bench_speech_vs.py /tmp/speech7b [--rounds 2] [--omni .build/release/omni] [--only talker,token2wav,speak]

Rows (higher is better for codes/s; lower for the rest):
- talker codes/s: prefill 128 rows, then 64 sampled codes (reference sampling settings).
- token2wav real-time factor of 10 s of speech at 10 and at 4 ODE time points (RK4: 36 and 12 DiT evaluations):
  both sides time single CFG-batched DiT evaluations on the 1000-frame input and BigVGAN on 1000 frames, and
  derive RTF = (evaluations × median evaluation + BigVGAN) / 10 s (a whole 10-step integration takes tens of
  minutes per side on this machine, too long to interleave).
- time to first audio: swift-omni streams (talker prefill, codes until the first token2wav window is final, its DiT
  at 10 steps and the first BigVGAN piece), measured; transformers has no streaming, so its first audio comes after
  the whole utterance: prefill + 500 codes (10 s) at its codes/s + its 10-step token2wav for 10 s, from the same
  round's measured rows.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))


def run(cmd, log):
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n{p.stdout}\n")
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}")
    out = {m.group(1): float(m.group(2)) for m in re.finditer(r"^RESULT (\S+) (\S+)$", p.stdout, re.M)}
    side = "transformers" if cmd[1].endswith(".py") else "swift-omni"
    what = cmd[3] if cmd[1].endswith(".py") else cmd[2]
    print(f"    {side} {what}: {out} ({time.time() - t0:.0f} s)", flush=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--omni", default=".build/release/omni")
    p.add_argument("--only", default="talker,token2wav,speak")
    p.add_argument("--log", default="/tmp/bench_speech_vs.log")
    p.add_argument("--transformers-talker", help="PREFILL_S,CODES_PER_S of an earlier talker pair, for the "
                   "time-to-first-audio row without rerunning the talker rows (--only token2wav,speak)")
    a = p.parse_args()
    only = set(a.only.split(","))
    py = [sys.executable, os.path.join(here, "bench_speech_transformers.py"), a.model]
    om = [a.omni, "bench"]
    rows = {}   # name -> list of (ours, theirs)

    def pair(name, ours, theirs):
        rows.setdefault(name, []).append((ours, theirs))

    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds} ({time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()[0]:.1f})", flush=True)
        A, B = {}, {}
        if a.transformers_talker and "talker" not in only:
            prefill, rate = map(float, a.transformers_talker.split(","))
            B.update(talker_prefill_s=prefill, talker_codes_per_s=rate)
        elif "talker" in only or "speak" in only:
            A.update(run(om + ["talker", "--model", a.model, "--runs", "1", "--codes", "64", "--threads", "2"], a.log))
            B.update(run(py + ["talker", "--codes", "64", "--threads", "2"], a.log))
            pair("talker codes/s", A["talker_codes_per_s"], B["talker_codes_per_s"])
            pair("talker prefill 128 rows (s)", A["talker_prefill_s"], B["talker_prefill_s"])
        if "token2wav" in only or "speak" in only:
            A.update(run(om + ["token2wav", "--model", a.model, "--seconds", "10", "--steps", "10,4", "--evaluations", "1",
                               "--threads", "2"], a.log))
            B.update(run(py + ["token2wav", "--seconds", "10", "--evaluations", "1", "--threads", "2"], a.log))
            pair("DiT evaluation, 1000 frames CFG (s)", A["dit_evaluation_s"], B["dit_evaluation_s"])
            pair("BigVGAN 1000 frames (s)", A["bigvgan_s"], B["bigvgan_s"])
            pair("token2wav RTF, 10 s, 10 steps", A["rtf_10_steps"], B["rtf_10_steps"])
            pair("token2wav RTF, 10 s, 4 steps", A["rtf_4_steps"], B["rtf_4_steps"])
        if "speak" in only:
            A.update(run(om + ["speak", "--model", a.model, "--runs", "1", "--steps", "10", "--threads", "2"], a.log))
            theirs = B["talker_prefill_s"] + 500 / B["talker_codes_per_s"] + 10 * B["rtf_10_steps"]
            pair("time to first audio, 10 steps (s)", A["first_audio_s"], theirs)

    print(f"\n| row | swift-omni (per round) | transformers (per round) | speed-up (median) |\n|---|---|---|---|")
    for name, pairs in rows.items():
        higher_better = "codes/s" in name
        ratios = [(o / t) if higher_better else (t / o) for o, t in pairs]
        print(f"| {name} | {' / '.join(f'{o:.3g}' for o, _ in pairs)} | {' / '.join(f'{t:.3g}' for _, t in pairs)} "
              f"| {statistics.median(ratios):.2f}× |")


if __name__ == "__main__":
    main()
