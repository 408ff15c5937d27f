"""Video sampling side by side: `omni bench media FILE` against qwen-omni-utils' `fetch_video` on the same file
(Benchmarks/fetch_video_peer.py), interleaved A B A B in one run; each run is a whole process under
`/usr/bin/time -v` (wall, user + sys, peak RSS), next to the time each side prints for the sampling itself.

    swift build -c release --product omni
    python3 Benchmarks/video_sampling_vs.py FILE [FILE ...] [--rounds 2] [--omni .build/release/omni]
        [--backend torchcodec|decord] [--omni-args "--video-max-frames 64"] [--peer-args "--max-frames 64"]
        [--vs-omni "--no-skip-unsampled"] [--omni-b /tmp/omni-before]

--vs-omni ARGS replaces the peer by a second omni run with those extra arguments (a before/after pair in one
binary); with --omni-b PATH that second run is another omni binary (a before/after pair across builds). Prints one line per run, then per file the medians and the median of the per-round ratios A/B.
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall s, cpu s, peak RSS MiB, the seconds the tool printed, output)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{out[-3000:]}")
    def field(name):
        m = re.search(rf"^\s*{re.escape(name)}: (.+)$", out, re.M)
        return m.group(1).strip()
    h, m_, s = (["0"] * 3 + field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"))[-3:]
    wall = int(h) * 3600 + int(m_) * 60 + float(s)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss = int(field("Maximum resident set size (kbytes)")) / 1024
    own = re.search(r"RESULT seconds (\S+)", out) or re.search(r"resized to \S+: ([0-9.]+) s", out)
    return wall, cpu, rss, float(own.group(1)) if own else float("nan"), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--omni", default=".build/release/omni")
    ap.add_argument("--backend", choices=["torchcodec", "decord"], help="the peer's reader (default: qwen-omni-utils' choice)")
    ap.add_argument("--omni-args", default="", help="extra arguments for omni bench media (side A)")
    ap.add_argument("--peer-args", default="", help="extra arguments for the peer (--max-frames N to match --video-max-frames N)")
    ap.add_argument("--vs-omni", help="side B is omni with these extra arguments instead of the peer")
    ap.add_argument("--omni-b", help="with --vs-omni: the omni binary of side B (default: --omni)")
    args = ap.parse_args()
    rows = {}
    for r in range(args.rounds):
        for f in args.files:
            a = [args.omni, "bench", "media", f] + shlex.split(args.omni_args)
            if args.vs_omni is not None:
                ob = args.omni_b or args.omni
                b, bname = [ob, "bench", "media", f] + shlex.split(args.vs_omni), f"{ob} {args.vs_omni}"
            else:
                b = [sys.executable, os.path.join(here, "fetch_video_peer.py"), f] + (["--backend", args.backend] if args.backend else []) + shlex.split(args.peer_args)
                bname = "qwen-omni-utils"
            for side, cmd in (("A", a), ("B", b)):
                wall, cpu, rss, own, out = timed(cmd)
                rows.setdefault(f, {"A": [], "B": []})[side].append((wall, cpu, rss, own))
                first = next((ln for ln in out.splitlines() if "resized to" in ln), "")
                print(f"round {r + 1} {os.path.basename(f)} {side} ({'omni ' + args.omni_args if side == 'A' else bname}): "
                      f"wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {rss:.0f} MiB, sampling {own:.2f} s | {first.strip()}", flush=True)
    for f, d in rows.items():
        med = lambda side, i: statistics.median(x[i] for x in d[side])
        ratio = lambda i: statistics.median(a[i] / b[i] for a, b in zip(d["A"], d["B"]))
        print(f"{os.path.basename(f)}: A wall {med('A', 0):.2f} s, cpu {med('A', 1):.2f} s, RSS {med('A', 2):.0f} MiB | "
              f"B wall {med('B', 0):.2f} s, cpu {med('B', 1):.2f} s, RSS {med('B', 2):.0f} MiB | "
              f"A/B wall {ratio(0):.3f}, cpu {ratio(1):.3f} (median of {len(d['A'])} pairs)")


if __name__ == "__main__":
    main()
