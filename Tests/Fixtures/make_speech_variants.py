#!/usr/bin/env python3
"""Speech reference fixtures for talker and token2wav shapes other than the public tiny checkpoint's, and for a
second speaker, made with the team's make_fixtures.py (HF transformers computes every output).

    python3 Tests/Fixtures/make_speech_variants.py PATH/TO/make_fixtures.py OUTDIR

Needs torch and transformers 5.x (the accelerator machine has both). Writes OUTDIR/tiny-omni-spk/ with the
usual reference/ folder (speech.safetensors for Chelsie, as make_fixtures writes it) plus
reference/speech_ethan.safetensors: token2wav on other codes and noise with the speaker Ethan (whose bos token
is <|tts_pad|>, not <|tts_text_bos|>, and whose ref_mel is longer), and the end-to-end run with Ethan.
"""
import importlib.util
import os
import sys

# Talker and DiT shapes that differ from the public fixture everywhere they have a choice: talker hidden 80 over
# 5 heads and 1 KV head, 3 layers, mrope [2, 4, 2]; DiT hidden 96 over 3 heads, 3 layers, a 16-frame block, one
# look-ahead and two look-back layers, a wider MLP and a Res2Net scale of 4 in the ECAPA encoder; BigVGAN from 128
# channels. The thinker is small and of other shapes too (6 heads over 2, mrope [2, 2, 2]).
SPK = dict(seed=4242, hidden=72, heads=6, kv=2, layers=2, mrope=[2, 2, 2], inter=144, vocab=2048,
           vdepth=2, vfull=[1], vheads=4, vhidden=64, alayers=2, aheads=4, ahidden=64,
           thidden=80, theads=5, tkv=1, tlayers=3, tmrope=[2, 4, 2],
           dhidden=96, dheads=3, dlayers=3, bigvgan=128, hub_style=False)
DIT_EXTRA = dict(block_size=16, look_ahead_layers=[1], look_backward_layers=[0, 2], ff_mult=3,
                 enc_res2net_scale=4)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    script, out = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("make_fixtures", script)
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    mf.VARIANTS["spk"] = SPK
    orig_config = mf.omni_config

    def omni_config(v, ids):
        c = orig_config(v, ids)
        if v is SPK:
            c["token2wav_config"]["dit_config"].update(DIT_EXTRA)
        return c

    mf.omni_config = omni_config
    sys.argv = [script, out, "spk"]
    os.makedirs(out, exist_ok=True)
    mf.main()
    ethan(mf, os.path.join(out, "tiny-omni-spk"))


def ethan(mf, d):
    """Token2wav and the end-to-end run again with the speaker Ethan."""
    import torch
    from transformers import Qwen2_5OmniForConditionalGeneration, Qwen2_5OmniProcessor
    M = mf.M
    model = Qwen2_5OmniForConditionalGeneration.from_pretrained(d, dtype=torch.float32,
                                                                attn_implementation="eager").eval()
    proc = Qwen2_5OmniProcessor.from_pretrained(d)
    spk = torch.load(os.path.join(d, "spk_dict.pt"))
    captured = {}
    inputs = proc(text=[mf.chat("Tell me a story.")], return_tensors="pt")
    orig_fwd = model.token2wav.forward

    def spy(code, conditioning, reference_mel, **kw):
        captured["codes"] = code.clone()
        return orig_fwd(code, conditioning, reference_mel, **kw)

    model.token2wav.forward = spy
    orig_randn = M.torch.randn
    g = torch.Generator().manual_seed(91)

    def rec_randn(*a, **k):
        x = orig_randn(*a, generator=g, **{kk: vv for kk, vv in k.items() if kk in ("dtype",)})
        captured["noise"] = x.clone()
        return x

    M.torch.randn = rec_randn
    with torch.no_grad():
        seq, wav_out = model.generate(**inputs, speaker="Ethan", thinker_max_new_tokens=6, thinker_do_sample=False,
                                      talker_max_new_tokens=36, talker_do_sample=False, generation_mode="audio",
                                      talker_min_new_tokens=36, token2wav_num_steps=4)
    M.torch.randn = orig_randn
    model.token2wav.forward = orig_fwd
    speech = {"input_ids": inputs["input_ids"][0], "thinker_sequence": seq[0], "e2e_waveform": wav_out,
              "e2e_codes": captured["codes"][0], "e2e_noise": captured["noise"][0]}
    rng = torch.Generator().manual_seed(123)
    code = torch.randint(0, 8192, (1, 37), generator=rng)
    noise = torch.randn(1, 74, 80, generator=rng)
    M.torch.randn = lambda *a, **k: noise.clone()
    try:
        with torch.no_grad():
            mel = model.token2wav.code2wav_dit_model.sample(spk["Ethan"]["cond"][None].float(),
                                                           spk["Ethan"]["ref_mel"].float(), code, num_steps=6)
            wav = model.token2wav.code2wav_bigvgan_model(mel)
    finally:
        M.torch.randn = orig_randn
    speech.update({"codes": code[0], "noise": noise[0], "mel": mel[0], "waveform": wav.reshape(-1)})
    mf.tensors_out(os.path.join(d, "reference", "speech_ethan.safetensors"), speech,
                   {"speaker": "Ethan", "num_steps": 6, "guidance_scale": 0.5, "sway_coefficient": -1.0,
                    "thinker_max_new_tokens": 6, "talker_min_new_tokens": 36, "talker_max_new_tokens": 36})
    print("made speech_ethan", {k: tuple(v.shape) for k, v in speech.items()}, flush=True)


if __name__ == "__main__":
    main()
