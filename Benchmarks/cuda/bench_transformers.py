"""The transformers peer for the CUDA benchmark: Qwen2.5-Omni-7B thinker shapes, random bf16 weights, on one GPU.

    python3 Benchmarks/cuda/bench_transformers.py [--attn sdpa,eager] [--prefill 512,2048,8192] [--decode 128]
                                                  [--runs 3] [--towers] [--tiny]

Builds the thinker from Benchmarks/omni7b_config.json on the meta device, moves it with to_empty() to the GPU,
draws every weight from normal(0, 0.02) (norm weights 1, as Benchmarks/make_synthetic_omni7b.py does) and
recomputes the rotary and sinusoid buffers, which to_empty leaves uninitialised. Prints one JSON line per row:

  prefill  N tokens, one forward with a fresh DynamicCache and logits for the last position only (what
           generate's prefill does): tokens/s (median of --runs after a warm-up) and peak memory over the
           weights (torch.cuda.max_memory_allocated − memory allocated before the call).
  decode   batch 1, greedy, 128 new tokens after a 1-token prompt, through generate() with its DynamicCache
           (min_new_tokens = max_new_tokens, so EOS cannot stop it early); the time of generate(1 token) is
           subtracted, so the figure is 128 decode steps over their time.
  audio    the audio tower (get_audio_features) on 30 s of random log-mel input (3000 frames).
  vision   the vision tower (get_image_features) on one 448×448 image (32×32 patches of 14, t = 2 frames).

--tiny shrinks every dimension so the script can be checked on a CPU (device cpu) before a GPU run.
"""
import argparse
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))

p = argparse.ArgumentParser()
p.add_argument("--attn", default="sdpa,eager")
p.add_argument("--prefill", default="512,2048,8192")
p.add_argument("--decode", type=int, default=128)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--towers", action="store_true")
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


def timed(fn, runs):
    fn()  # warm-up
    sync()
    ts = []
    for _ in range(runs):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def peak_over(fn):
    sync()
    if not cuda:
        fn()
        return None
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    sync()
    return (torch.cuda.max_memory_allocated() - base) / 2**30


def main():
    emit(row="env", torch=torch.__version__, transformers=transformers.__version__,
         device=torch.cuda.get_device_name() if cuda else "cpu")
    for attn in args.attn.split(","):
        try:
            model, cfg = build(attn)
        except Exception as e:  # a row that cannot run says why; the others still run
            emit(row="build", attn=attn, error=repr(e)[:300])
            continue
        weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30
        emit(row="weights", attn=attn, gib=round(weights, 3))
        vocab = cfg.text_config.vocab_size
        gen = torch.Generator(device="cpu").manual_seed(0)
        with torch.inference_mode():
            for n in [int(x) for x in args.prefill.split(",") if x]:
                ids = torch.randint(0, min(vocab, 150000), (1, n), generator=gen).to(dev)

                def prefill():
                    model(input_ids=ids, use_cache=True, logits_to_keep=1)
                try:
                    s = timed(prefill, args.runs)
                    peak = peak_over(prefill)
                    emit(row="prefill", attn=attn, tokens=n, tokens_per_s=round(n / s, 1), seconds=round(s, 4),
                         peak_gib_over_weights=None if peak is None else round(peak, 3))
                except Exception as e:
                    emit(row="prefill", attn=attn, tokens=n, error=repr(e)[:300])
                if cuda:
                    torch.cuda.empty_cache()
            if args.decode > 0:
                ids = torch.randint(0, min(vocab, 150000), (1, 1), generator=gen).to(dev)

                def generate(k):
                    return lambda: model.generate(input_ids=ids, max_new_tokens=k, min_new_tokens=k, do_sample=False,
                                                  use_cache=True)
                try:
                    s1 = timed(generate(1), args.runs)
                    sN = timed(generate(args.decode + 1), args.runs)
                    peak = peak_over(generate(args.decode + 1))
                    emit(row="decode", attn=attn, new_tokens=args.decode, tokens_per_s=round(args.decode / (sN - s1), 2),
                         seconds=round(sN - s1, 4), how="generate, DynamicCache, greedy, 1-token prompt",
                         peak_gib_over_weights=None if peak is None else round(peak, 3))
                except Exception as e:
                    emit(row="decode", attn=attn, error=repr(e)[:300])
            if args.towers:
                mel = cfg.audio_config.num_mel_bins
                feats = torch.randn(1, mel, 3000, generator=gen).to(dev, torch.bfloat16)
                mask = torch.ones(1, 3000, dtype=torch.long, device=dev)
                try:
                    s = timed(lambda: model.get_audio_features(input_features=feats, feature_attention_mask=mask),
                              args.runs)
                    peak = peak_over(lambda: model.get_audio_features(input_features=feats, feature_attention_mask=mask))
                    emit(row="audio", attn=attn, seconds_of_audio=30, seconds=round(s, 4),
                         peak_gib_over_weights=None if peak is None else round(peak, 3))
                except Exception as e:
                    emit(row="audio", attn=attn, error=repr(e)[:300])
                vc = cfg.vision_config
                side = 448 // vc.patch_size
                patches = torch.randn(side * side, vc.in_channels * vc.temporal_patch_size * vc.patch_size ** 2,
                                      generator=gen).to(dev, torch.bfloat16)
                thw = torch.tensor([[1, side, side]], device=dev)
                try:
                    s = timed(lambda: model.get_image_features(pixel_values=patches, image_grid_thw=thw), args.runs)
                    peak = peak_over(lambda: model.get_image_features(pixel_values=patches, image_grid_thw=thw))
                    emit(row="vision", attn=attn, image="448x448", patches=side * side, seconds=round(s, 4),
                         peak_gib_over_weights=None if peak is None else round(peak, 3))
                except Exception as e:
                    emit(row="vision", attn=attn, error=repr(e)[:300])
        del model
        if cuda:
            torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
