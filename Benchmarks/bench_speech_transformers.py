"""The transformers side of the speech benchmark: the same work as `omni bench talker|token2wav|speak --model DIR`
on the same synthetic safetensors (Benchmarks/make_synthetic_speech.py), through transformers'
Qwen2_5OmniTalkerForConditionalGeneration and Qwen2_5OmniToken2WavModel on CPU.

    python3 Benchmarks/bench_speech_transformers.py DIR talker    [--prompt-tokens 128] [--codes 64] [--dtype f32|bf16]
    python3 Benchmarks/bench_speech_transformers.py DIR token2wav [--seconds 10] [--evaluations 2]

talker: one `generate` exactly as Qwen2_5OmniForConditionalGeneration.generate calls it (inputs_embeds of
--prompt-tokens rows ending with the codec pad and BOS rows, a reply stream, the reference's sampling: temperature
0.9, top-k 40, top-p 0.8, repetition penalty 1.05, codec BOS suppressed), with min_new_tokens = max_new_tokens so
the length is fixed; a logits processor stamps the clock at each step, so prefill (prompt to the first logits) and
decode (codes/s over --codes steps after the first) are timed apart. One untimed warm-up generate of 4 codes first.

token2wav: the DiT's velocity evaluation as `Qwen2_5OmniToken2WavDiTModel.sample` calls it (CFG batched,
apply_cfg=True) on --seconds of speech (50 codes/s, 2 mel frames per code), timed --evaluations times after a
warm-up on a short input; BigVGAN once on the same number of mel frames, after a short warm-up run. The RK4 integrator of the reference makes 4 evaluations per
interval, so the real-time factor at N time points is (4 (N − 1) · evaluation + BigVGAN) / seconds.

Prints `RESULT name value` lines (the driver Benchmarks/bench_speech_vs.py reads them).
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors import safe_open
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import (Qwen2_5OmniTalkerConfig,
                                                                         Qwen2_5OmniToken2WavConfig)
from transformers import LogitsProcessor, LogitsProcessorList


def state(directory, prefix, dtype):
    out = {}
    with safe_open(os.path.join(directory, "model.safetensors"), framework="pt") as f:
        for k in f.keys():
            if k.startswith(prefix):
                out[k[len(prefix):]] = f.get_tensor(k).to(dtype)
    return out


def load(module, sd):
    missing, unexpected = module.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("inv_freq")]
    if missing or unexpected:
        sys.exit(f"weights do not match the module: missing {missing[:5]}, unexpected {unexpected[:5]}")


class Stamps(LogitsProcessor):
    def __init__(self):
        self.t = []

    def __call__(self, input_ids, scores):
        self.t.append(time.perf_counter())
        return scores


def bench_talker(args, config):
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    raw = {k: v for k, v in config["talker_config"].items() if k != "layer_types"}   # dumped for 28 layers; rebuilt
    tc = Qwen2_5OmniTalkerConfig(**raw)
    model = M.Qwen2_5OmniTalkerForConditionalGeneration(tc).eval()
    load(model, state(args.model, "talker.", dtype))
    model.to(dtype)
    g = torch.Generator().manual_seed(11)
    n, e = args.prompt_tokens, tc.embedding_size
    embeds = (torch.rand(1, n, e, generator=g) * 2 - 1).to(dtype)
    reply = (torch.rand(1, 8, e, generator=g) * 2 - 1).to(dtype)
    text_ids = torch.randint(1000, 100000, (1, n), generator=g)
    codec_ids = torch.full((1, n), tc.tts_codec_mask_token_id)
    codec_ids[0, -2], codec_ids[0, -1] = tc.tts_codec_pad_token_id, tc.tts_codec_start_token_id
    print(f"talker: {tc.num_hidden_layers} layers x {tc.hidden_size}, {args.dtype} weights, "
          f"attention {model.config._attn_implementation}, threads {torch.get_num_threads()}", flush=True)

    def run(codes):
        stamps = Stamps()
        model.rope_deltas = None
        t0 = time.perf_counter()
        with torch.no_grad():
            model.generate(input_ids=codec_ids, input_text_ids=text_ids, thinker_reply_part=reply.clone(),
                           inputs_embeds=embeds.clone(), attention_mask=torch.ones(1, n, dtype=torch.long),
                           suppress_tokens=[tc.tts_codec_start_token_id], do_sample=True, top_k=40, top_p=0.8,
                           temperature=0.9, repetition_penalty=1.05, max_new_tokens=codes, min_new_tokens=codes,
                           eos_token_id=[tc.tts_codec_end_token_id, tc.tts_codec_pad_token_id],
                           logits_processor=LogitsProcessorList([stamps]))
        return stamps.t[0] - t0, stamps.t[-1] - stamps.t[0], len(stamps.t) - 1

    run(4)
    prefill, decode, steps = run(args.codes + 1)
    print(f"RESULT talker_prefill_s {prefill:.3f}")
    print(f"RESULT talker_codes_per_s {steps / decode:.3f}")


def bench_token2wav(args, config):
    c = config["token2wav_config"]
    cfg = Qwen2_5OmniToken2WavConfig(dit_config=c["dit_config"], bigvgan_config=c["bigvgan_config"])
    model = M.Qwen2_5OmniToken2WavModel(cfg).eval()
    load(model, state(args.model, "token2wav.", torch.float32))
    dit, vocoder = model.code2wav_dit_model, model.code2wav_bigvgan_model
    with safe_open(os.path.join(args.model, "spk_dict.safetensors"), framework="pt") as f:
        cond, ref = f.get_tensor("Synthetic.cond")[None], f.get_tensor("Synthetic.ref_mel")
    g = torch.Generator().manual_seed(9)
    codes = torch.randint(0, cfg.dit_config.num_embeds - 1, (1, args.seconds * 50), generator=g)
    frames = codes.shape[1] * cfg.dit_config.repeats
    x = torch.randn(1, frames, cfg.dit_config.mel_dim, generator=g)
    spk = cond.unsqueeze(1).repeat(1, frames, 1)
    print(f"token2wav: {args.seconds} s ({codes.shape[1]} codes, {frames} mel frames), attention "
          f"{dit.config._attn_implementation}, threads {torch.get_num_threads()}", flush=True)

    def evaluate(n=frames):
        out = dit(hidden_states=x[:, :n], quantized_code=codes[:, :n // 2], speaker_embedding=spk[:, :n],
                  condition_vector=ref, time_step=torch.tensor(0.5), apply_cfg=True)
        g_, n_ = torch.chunk(out, 2, dim=0)
        return g_ + (g_ - n_) * 0.5

    with torch.no_grad():
        evaluate(48)   # warm-up (torch plans nothing per length: a short input is enough)
        times = []
        for _ in range(args.evaluations):
            t0 = time.perf_counter()
            evaluate()
            times.append(time.perf_counter() - t0)
        mel = torch.randn(1, cfg.dit_config.mel_dim, frames, generator=g)
        vocoder(mel[:, :, :24])   # warm-up
        t0 = time.perf_counter()
        vocoder(mel)
        vocode = time.perf_counter() - t0
    times.sort()
    ev = times[len(times) // 2]
    print(f"RESULT dit_evaluation_s {ev:.3f}")
    print(f"RESULT bigvgan_s {vocode:.3f}")
    for steps in (10, 4):
        print(f"RESULT rtf_{steps}_steps {(4 * (steps - 1) * ev + vocode) / args.seconds:.3f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("what", choices=["talker", "token2wav"])
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--codes", type=int, default=64)
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--evaluations", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    config = json.load(open(os.path.join(args.model, "config.json")))
    (bench_talker if args.what == "talker" else bench_token2wav)(args, config)


if __name__ == "__main__":
    main()
