"""The peer of `omni bench media FILE`: qwen-omni-utils' `fetch_video` on the same file, default sampling (2 fps,
at most 768 frames, its resize), timed in-process, with the process's peak RSS.

    pip install qwen-omni-utils torchvision torchcodec   # or decord instead of torchcodec
    python3 Benchmarks/fetch_video_peer.py FILE [--backend torchcodec|decord|torchvision] [--fps 2] [--max-frames N]

qwen-omni-utils picks torchcodec when it is installed, else decord, else torchvision (which reads the whole video
into memory: 112 GB for 10 minutes of 1080p, so not usable here); --backend forces one (its
FORCE_QWENVL_VIDEO_READER). torchcodec decodes with TORCHCODEC_NUM_THREADS FFmpeg threads (qwen-omni-utils'
default 8). `fetch_video` returns the resized frames as float32 (T, 3, H, W), as it does for the processor; the
"frames hold" figure is that tensor. Prints lines `RESULT name value` for drivers.
"""
import argparse
import os
import resource
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--backend", choices=["torchcodec", "decord", "torchvision"])
ap.add_argument("--fps", type=float, default=2.0)
ap.add_argument("--max-frames", type=int)
args = ap.parse_args()
if args.backend:
    os.environ["FORCE_QWENVL_VIDEO_READER"] = args.backend

import torch  # noqa: E402
from qwen_omni_utils.v2_5 import vision_process as vp  # noqa: E402

torch.set_num_threads(2)
ele = {"video": args.file, "fps": args.fps}
if args.max_frames:
    ele["max_frames"] = args.max_frames
backend = vp.get_video_reader_backend()
t0 = time.perf_counter()
video, meta = vp.fetch_video(ele, return_video_metadata=True)
t1 = time.perf_counter()
idx = list(meta["frames_indices"])
idx = [int(i) for i in idx]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"backend {backend}: {len(idx)} frames (indices {idx[:3]} … {idx[-1]}), resized to "
      f"{video.shape[3]}×{video.shape[2]}: {t1 - t0:.2f} s, frames hold {video.numel() * video.element_size() / 2**20:.0f} MiB "
      f"({video.dtype}); peak RSS {peak / 2**20:.0f} MiB")
print(f"RESULT seconds {t1 - t0:.3f}")
print(f"RESULT frames {len(idx)}")
print(f"RESULT peak_rss_mib {peak / 2**20:.1f}")
sys.stdout.flush()
