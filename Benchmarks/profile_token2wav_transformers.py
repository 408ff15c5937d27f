"""torch.profiler over transformers' token2wav at the 7B shapes: one CFG-batched DiT evaluation and one BigVGAN run on
SECONDS of speech, as Benchmarks/bench_speech_transformers.py calls them (after the same warm-ups), printing each
stage's wall time and its top operators by self CPU time (2 threads).

    python3 Benchmarks/profile_token2wav_transformers.py /tmp/speech7b [SECONDS]
"""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
from torch.profiler import profile, ProfilerActivity
import bench_speech_transformers as B
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as M
from transformers.models.qwen2_5_omni.configuration_qwen2_5_omni import Qwen2_5OmniToken2WavConfig
from safetensors import safe_open
torch.set_num_threads(2)
d = sys.argv[1]; seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
config = json.load(open(os.path.join(d, 'config.json')))
c = config["token2wav_config"]
cfg = Qwen2_5OmniToken2WavConfig(dit_config=c["dit_config"], bigvgan_config=c["bigvgan_config"])
model = M.Qwen2_5OmniToken2WavModel(cfg).eval()
B.load(model, B.state(d, "token2wav.", torch.float32))
dit, vocoder = model.code2wav_dit_model, model.code2wav_bigvgan_model
with safe_open(os.path.join(d, "spk_dict.safetensors"), framework="pt") as f:
    cond, ref = f.get_tensor("Synthetic.cond")[None], f.get_tensor("Synthetic.ref_mel")
g = torch.Generator().manual_seed(9)
codes = torch.randint(0, cfg.dit_config.num_embeds - 1, (1, seconds * 50), generator=g)
frames = codes.shape[1] * cfg.dit_config.repeats
x = torch.randn(1, frames, cfg.dit_config.mel_dim, generator=g)
spk = cond.unsqueeze(1).repeat(1, frames, 1)
def evaluate(n=frames):
    return dit(hidden_states=x[:, :n], quantized_code=codes[:, :n // 2], speaker_embedding=spk[:, :n],
               condition_vector=ref, time_step=torch.tensor(0.5), apply_cfg=True)
mel = torch.randn(1, cfg.dit_config.mel_dim, frames, generator=g)
with torch.no_grad():
    evaluate(48); vocoder(mel[:, :, :24])
    for name, fn in (("dit", evaluate), ("bigvgan", lambda: vocoder(mel))):
        t0 = time.perf_counter()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        print(f"== {name}: {time.perf_counter() - t0:.3f} s (profiled)", flush=True)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14), flush=True)
