"""The transformers peer for issue 14's long-video table: Qwen2.5-Omni-7B thinker shapes (towers included), random
bf16 weights, one GPU; a synthetic video with its audio track, laid out as `omni bench long-video` lays it out.

    python3 Benchmarks/cuda/bench_long_video.py [--seconds 15,30,60] [--frame 560x1008] [--attn sdpa] [--runs 1] [--tiny]

Inputs (what Qwen2_5OmniProcessor gives with use_audio_in_video for a clip sampled by qwen-omni-utils' defaults:
fps 2, two frames per temporal patch, so one t-slice a second and video_second_per_grid 1.0; frames resized under the
768-token cap, 560x1008 for a 1080p source; audio at 100 mel frames a second, no padding frames):
  input_ids       48 text ids, <|vision_bos|> <|audio_bos|>, then per 2 s chunk (50 time units) the chunk's video
                  placeholders and the chunk's audio placeholders, <|audio_eos|> <|vision_eos|>, 8 text ids
  pixel_values_videos [t*h*w, 1176] and video_grid_thw [[t, h, w]] (h, w in 14-pixel patches)
  input_features [1, 128, 100*s], feature_attention_mask all ones
One row per length: model.generate(max_new_tokens=1) (the towers, the prefill with transformers' own logits, the first
token), as a user runs it. Time: median of --runs after a warm-up; peak: torch.cuda.max_memory_allocated over the
call (weights included), after reset_peak_memory_stats. One JSON line per row.

The model is built as Benchmarks/cuda/bench_transformers.py builds it (meta device, to_empty on the GPU, N(0, 0.02)
weights, norms 1, rotary and sinusoid buffers recomputed). --tiny shrinks every dimension for a CPU check.
"""
import argparse
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))

p = argparse.ArgumentParser()
p.add_argument("--seconds", default="15,30,60")
p.add_argument("--frame", default="560x1008")
p.add_argument("--attn", default="sdpa")
p.add_argument("--runs", type=int, default=1)
p.add_argument("--warmup-seconds", type=int, default=2)
p.add_argument("--text-before", type=int, default=48)
p.add_argument("--text-after", type=int, default=8)
p.add_argument("--tiny", action="store_true")
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
args = p.parse_args()

import transformers  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_thinker  # noqa: E402  (the model both CUDA peers build)

dev = torch.device(args.device)
cuda = dev.type == "cuda"


def sync():
    synthetic_thinker.sync(dev)


emit = synthetic_thinker.emit


def build(attn):
    return synthetic_thinker.build(attn, dev, args.tiny)


def chunks(values, per):
    """get_chunked_index: lengths of the runs of `values` (offsets from the start) split at each multiple of `per`."""
    out, begin, current = [], 0, 1
    for i, v in enumerate(values):
        if v >= current * per:
            out.append(i - begin)
            begin, current = i, current + 1
    out.append(len(values) - begin)
    return out


def make_inputs(cfg, seconds, height, width, gen):
    """The processor's outputs for `seconds` of video with its audio (use_audio_in_video)."""
    vc, ac = cfg.vision_config, cfg.audio_config
    t, h, w = seconds, height // vc.patch_size, width // vc.patch_size
    m = vc.spatial_merge_size
    frames = 100 * seconds
    audio_tokens = ((frames - 1) // 2 + 1 - 2) // 2 + 1
    pps = cfg.position_id_per_seconds
    per = int(pps * cfg.seconds_per_chunk)
    per_frame = (h // m) * (w // m)
    video_t = [int(k * 1.0 * pps) for k in range(t) for _ in range(per_frame)]
    vc_len, ac_len = chunks(video_t, per), chunks(list(range(audio_tokens)), per)
    span = []
    for j in range(max(len(vc_len), len(ac_len))):
        if j < len(vc_len):
            span += [cfg.video_token_index] * vc_len[j]
        if j < len(ac_len):
            span += [cfg.audio_token_index] * ac_len[j]
    ids = [1] * args.text_before + [cfg.vision_start_token_id, cfg.audio_start_token_id] + span + \
        [cfg.audio_end_token_id, cfg.vision_end_token_id] + [1] * args.text_after
    row = vc.in_channels * vc.temporal_patch_size * vc.patch_size ** 2
    return dict(
        input_ids=torch.tensor([ids], device=dev),
        attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=dev),
        pixel_values_videos=(torch.rand(t * h * w, row, generator=gen) * 2 - 1).to(dev, torch.bfloat16),
        video_grid_thw=torch.tensor([[t, h, w]], device=dev),
        video_second_per_grid=torch.tensor([1.0], device=dev),
        input_features=(torch.rand(1, ac.num_mel_bins, frames, generator=gen) * 2 - 1).to(dev, torch.bfloat16),
        feature_attention_mask=torch.ones(1, frames, dtype=torch.long, device=dev),
        use_audio_in_video=True,
    ), dict(tokens=len(ids), video_tokens=sum(vc_len), audio_tokens=audio_tokens)


def main():
    emit(row="env", torch=torch.__version__, transformers=transformers.__version__,
         device=torch.cuda.get_device_name() if cuda else "cpu")
    height, width = (int(x) for x in args.frame.lower().split("x"))
    for attn in args.attn.split(","):
        try:
            model, cfg = build(attn)
        except Exception as e:  # a row that cannot run says why; the others still run
            emit(row="build", attn=attn, error=repr(e)[:300])
            continue
        weights = sum(p.numel() * p.element_size() for p in model.parameters())
        emit(row="weights", attn=attn, gib=round(weights / 2**30, 3))
        gen = torch.Generator(device="cpu").manual_seed(0)
        with torch.inference_mode():
            if args.warmup_seconds > 0:
                warm, _ = make_inputs(cfg, args.warmup_seconds, height, width, gen)
                model.generate(**warm, max_new_tokens=1, do_sample=False)
                del warm
            for s in [int(x) for x in args.seconds.split(",") if x]:
                inputs, sizes = make_inputs(cfg, s, height, width, gen)
                try:
                    times, peaks = [], []
                    for _ in range(args.runs):
                        if cuda:
                            torch.cuda.empty_cache()
                            torch.cuda.reset_peak_memory_stats()
                        sync()
                        t0 = time.perf_counter()
                        out = model.generate(**inputs, max_new_tokens=1, do_sample=False)
                        sync()
                        times.append(time.perf_counter() - t0)
                        peaks.append(torch.cuda.max_memory_allocated() if cuda else 0)
                        del out
                    emit(row="long-video", attn=attn, video_seconds=s, frame=args.frame, **sizes,
                         seconds=round(statistics.median(times), 3), runs=args.runs,
                         peak_gib=round(max(peaks) / 2**30, 3), peak_gb=round(max(peaks) / 1e9, 2),
                         weights_gib=round(weights / 2**30, 3))
                except Exception as e:
                    emit(row="long-video", attn=attn, video_seconds=s, **sizes, error=repr(e)[:300])
                del inputs
                if cuda:
                    torch.cuda.empty_cache()
        del model
        if cuda:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
