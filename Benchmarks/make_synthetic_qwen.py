#!/usr/bin/env python3
"""Writes a synthetic checkpoint with Qwen2.5-0.5B's text shapes, twice: as a thinker-only Qwen2.5-Omni
folder that `omni` loads (bf16 safetensors, sharded, with an index) and as llama.cpp GGUF files (BF16 and
Q8_0) holding the same weights, so both runtimes are timed on identical numbers.

    python3 Benchmarks/make_synthetic_qwen.py OUTDIR [--layers 24] [--seed 0]

OUTDIR/omni/          config.json, model-0000N-of-0000M.safetensors, model.safetensors.index.json, tokenizer files
OUTDIR/qwen2-bf16.gguf  OUTDIR/qwen2-q8_0.gguf  OUTDIR/qwen2-q4_0.gguf  (--gguf picks which; --no-omni skips the folder)

Weights are random: matrices and embeddings N(0, 0.02), norm weights 1 + N(0, 0.02), biases N(0, 0.02).
The tokenizer files come from Models/tiny-omni (the benchmarks feed token ids, so its smaller vocabulary
does not matter); the GGUF gets a dummy byte-level vocabulary of `vocab_size` tokens. GGUF files are
written with the `gguf` Python package (GGUFWriter), the writer llama.cpp's own converter uses.
Needs numpy and gguf.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

HIDDEN, INTER, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 896, 4864, 14, 2, 64, 151936
ROPE_THETA, RMS_EPS, MROPE = 1e6, 1e-6, [8, 12, 12]
SHARD_BYTES = 400 << 20
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def to_bf16(x):
    """float32 array -> uint16 bf16 bits, round to nearest even."""
    u = x.astype(np.float32).view(np.uint32)
    r = ((u >> 16) & 1) + 0x7FFF
    return ((u + r) >> 16).astype(np.uint16)


def bf16_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def tensors(layers, rng):
    """Yields (hf_name, gguf_name, bf16 array) in checkpoint order."""
    def mat(*shape):
        return to_bf16(rng.standard_normal(shape, dtype=np.float32) * 0.02)

    def norm(n):
        return to_bf16(1 + rng.standard_normal(n, dtype=np.float32) * 0.02)

    yield "thinker.model.embed_tokens.weight", "token_embd.weight", mat(VOCAB, HIDDEN)
    for i in range(layers):
        p, g = f"thinker.model.layers.{i}.", f"blk.{i}."
        yield p + "input_layernorm.weight", g + "attn_norm.weight", norm(HIDDEN)
        yield p + "self_attn.q_proj.weight", g + "attn_q.weight", mat(HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.q_proj.bias", g + "attn_q.bias", mat(HEADS * HEAD_DIM)
        yield p + "self_attn.k_proj.weight", g + "attn_k.weight", mat(KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.k_proj.bias", g + "attn_k.bias", mat(KV_HEADS * HEAD_DIM)
        yield p + "self_attn.v_proj.weight", g + "attn_v.weight", mat(KV_HEADS * HEAD_DIM, HIDDEN)
        yield p + "self_attn.v_proj.bias", g + "attn_v.bias", mat(KV_HEADS * HEAD_DIM)
        yield p + "self_attn.o_proj.weight", g + "attn_output.weight", mat(HIDDEN, HEADS * HEAD_DIM)
        yield p + "post_attention_layernorm.weight", g + "ffn_norm.weight", norm(HIDDEN)
        yield p + "mlp.gate_proj.weight", g + "ffn_gate.weight", mat(INTER, HIDDEN)
        yield p + "mlp.up_proj.weight", g + "ffn_up.weight", mat(INTER, HIDDEN)
        yield p + "mlp.down_proj.weight", g + "ffn_down.weight", mat(HIDDEN, INTER)
    yield "thinker.model.norm.weight", "output_norm.weight", norm(HIDDEN)
    yield "thinker.lm_head.weight", "output.weight", mat(VOCAB, HIDDEN)


def write_safetensors(path, items):
    header, offset = {}, 0
    for name, arr in items:
        n = arr.nbytes
        header[name] = {"dtype": "BF16", "shape": list(arr.shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * ((8 - len(blob) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, arr in items:
            f.write(np.ascontiguousarray(arr).tobytes())


def omni_config(layers):
    """A full Qwen2.5-Omni config without talker/token2wav (audio output off); towers sized to the text width."""
    with open(os.path.join(REPO, "Models/tiny-omni/config.json")) as f:
        base = json.load(f)
    th = base["thinker_config"]
    th["text_config"].update({
        "hidden_size": HIDDEN, "intermediate_size": INTER, "num_hidden_layers": layers,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB,
        "rope_theta": ROPE_THETA, "rms_norm_eps": RMS_EPS, "max_position_embeddings": 32768,
        "rope_scaling": {"mrope_section": MROPE, "rope_type": "default", "type": "default"},
        "layer_types": ["full_attention"] * layers,
    })
    th["audio_config"]["output_dim"] = HIDDEN
    th["vision_config"]["out_hidden_size"] = HIDDEN
    th.update({"audio_token_index": 151646, "image_token_index": 151655, "video_token_index": 151656,
               "audio_start_token_id": 151647, "audio_end_token_id": 151648,
               "vision_start_token_id": 151652, "vision_end_token_id": 151653, "user_token_id": 872})
    return {"architectures": ["Qwen2_5OmniModel"], "model_type": "qwen2_5_omni", "enable_audio_output": False,
            "thinker_config": th, "torch_dtype": "bfloat16"}


def write_omni(out, weights, layers):
    os.makedirs(out, exist_ok=True)
    shards, cur, size = [], [], 0
    for name, _, arr in weights:
        if cur and size + arr.nbytes > SHARD_BYTES:
            shards.append(cur)
            cur, size = [], 0
        cur.append((name, arr))
        size += arr.nbytes
    shards.append(cur)
    weight_map, total = {}, 0
    for i, items in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(out, fname), items)
        for name, arr in items:
            weight_map[name] = fname
            total += arr.nbytes
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(omni_config(layers), f, indent=2)
    for t in ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "generation_config.json"]:
        src = os.path.join(REPO, "Models/tiny-omni", t)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(out, t))


def byte_chars():
    """GPT-2's bytes_to_unicode table: the 256 characters byte-level BPE uses."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_gguf(path, weights, layers, qtype):
    import gguf
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_name("synthetic-qwen2.5-0.5b")
    w.add_context_length(32768)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(layers)
    w.add_feed_forward_length(INTER)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(ROPE_THETA)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_file_type({gguf.GGMLQuantizationType.BF16: gguf.LlamaFileType.MOSTLY_BF16,
                     gguf.GGMLQuantizationType.Q8_0: gguf.LlamaFileType.MOSTLY_Q8_0,
                     gguf.GGMLQuantizationType.Q4_0: gguf.LlamaFileType.MOSTLY_Q4_0}[qtype])
    # Dummy byte-level vocabulary: the 256 byte characters, filler tokens, one control token at the end.
    chars = byte_chars()
    tokens = chars + ["ĠĠ"] + [f"<tok{i}>" for i in range(VOCAB - len(chars) - 2)] + ["<|endoftext|>"]
    types = [gguf.TokenType.NORMAL] * (VOCAB - 1) + [gguf.TokenType.CONTROL]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["Ġ Ġ"])
    w.add_eos_token_id(VOCAB - 1)
    w.add_bos_token_id(VOCAB - 1)
    w.add_add_bos_token(False)
    for _, gname, arr in weights:
        f32 = bf16_to_f32(arr)
        if arr.ndim == 1:
            w.add_tensor(gname, f32)   # norms and biases stay f32, as llama.cpp's converter writes them
        else:
            w.add_tensor(gname, gguf.quants.quantize(f32, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--layers", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-gguf", action="store_true", help="write only the omni folder")
    ap.add_argument("--no-omni", action="store_true", help="write only the GGUF files")
    ap.add_argument("--gguf", default="bf16,q8_0,q4_0", help="GGUF types to write (comma-separated)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    weights = list(tensors(args.layers, rng))
    if not args.no_omni:
        write_omni(os.path.join(args.outdir, "omni"), weights, args.layers)
        print(f"wrote {args.outdir}/omni ({sum(a.size for _, _, a in weights) / 1e6:.0f}M parameters)", flush=True)
    if args.no_gguf:
        return
    import gguf
    known = {"bf16": gguf.GGMLQuantizationType.BF16, "q8_0": gguf.GGMLQuantizationType.Q8_0,
             "q4_0": gguf.GGMLQuantizationType.Q4_0}
    for tag in args.gguf.split(","):
        if tag not in known:
            ap.error(f"--gguf: expected a list of {', '.join(known)}, got {tag!r}")
        q = known[tag]
        path = os.path.join(args.outdir, f"qwen2-{tag}.gguf")
        write_gguf(path, weights, args.layers, q)
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
