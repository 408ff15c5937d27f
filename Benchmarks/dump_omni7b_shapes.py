"""Dumps the state-dict names/shapes and the default (= 7B) config of Qwen2.5-Omni from transformers, on the meta
device (no weights are allocated). Run where transformers >= 5 is installed:

    python3 Benchmarks/dump_omni7b_shapes.py OUTDIR

Writes OUTDIR/omni7b_shapes.json ({name: shape}) and OUTDIR/omni7b_config.json (the default config plus the
hub-only keys the published checkpoint carries: mrope_section, vision_start/end ids, pad/eos ids).
"""
import json
import sys

import torch
from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

out = sys.argv[1]
config = Qwen2_5OmniConfig()
# The published 7B checkpoint differs from the class defaults here (OMNI-SPEC §1.4, §1.5 [hub]).
config.thinker_config.vision_config.hidden_size = 1280
config.talker_config.hidden_size = 896
config.talker_config.num_hidden_layers = 24
config.talker_config.num_attention_heads = 12
with torch.device("meta"):
    model = Qwen2_5OmniForConditionalGeneration(config)
shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
with open(f"{out}/omni7b_shapes.json", "w") as f:
    json.dump(shapes, f, indent=0, sort_keys=True)

c = config.to_dict()
tc = c["thinker_config"]
tc["vision_start_token_id"] = 151652
tc["vision_end_token_id"] = 151653
for sub in (tc["text_config"], c["talker_config"]):
    rp = sub.get("rope_parameters") or {}
    rp["mrope_section"] = [16, 24, 24]
    sub["rope_parameters"] = rp
tc["text_config"]["pad_token_id"] = 151643
tc["text_config"]["eos_token_id"] = 151645
tc["text_config"]["tie_word_embeddings"] = False
c["dtype"] = "bfloat16"
with open(f"{out}/omni7b_config.json", "w") as f:
    json.dump(c, f, indent=1, sort_keys=True, default=str)
print(len(shapes), "tensors,", sum(torch.Size(s).numel() for s in shapes.values()) / 1e9, "B params")
