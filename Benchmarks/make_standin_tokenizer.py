"""Writes a stand-in for Qwen2.5's tokenizer.json (the real one cannot be downloaded here): a byte-level BPE trained
with HF `tokenizers` itself on generated text to Qwen2.5's size, 151,643 vocabulary tokens and about 151k merges,
with Qwen2's NFC normalizer, split regex and byte-level pre-tokenizer/decoder, and 22 added tokens from id 151643
(the tiny fixture's added-token strings, renumbered as Qwen2.5's are). About 11 MB, like the real file.

    python3 Benchmarks/make_standin_tokenizer.py OUTDIR

The corpus is deterministic (seeded): words of random syllables in Latin, Cyrillic, Greek, CJK and Arabic letters,
with digits, punctuation and spaces, drawn with a Zipf-like frequency so the trainer finds enough distinct pairs.
"""
import json
import os
import random
import sys

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
tiny = json.load(open(os.path.join(here, "..", "Models", "tiny-omni", "tokenizer.json")))
pattern = tiny["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]
VOCAB = 151643

rng = random.Random(16)
scripts = [
    "abcdefghijklmnopqrstuvwxyz" * 4 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "αβγδεζηθικλμνξοπρστυφχψω",
    "".join(chr(c) for c in range(0x4E00, 0x4E00 + 1500)),
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
]
weights = [6, 1, 1, 2, 1]


def word():
    s = rng.choices(scripts, weights)[0]
    n = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12]) if s is not scripts[3] else rng.choice([1, 1, 2, 2, 3, 4])
    return "".join(rng.choice(s) for _ in range(n))


lexicon = [word() for _ in range(400_000)]


def corpus():
    for _ in range(4000):
        parts = []
        for _ in range(500):
            r = rng.random()
            # Zipf-like: low indices far more often.
            w = lexicon[min(int(rng.paretovariate(0.6)) - 1, len(lexicon) - 1)] if r < 0.7 else rng.choice(lexicon)
            parts.append(w)
            r = rng.random()
            if r < 0.05:
                parts.append(rng.choice([",", ".", "!", "?", ";", ":", "—", "()", "\"", "'s", "\n", "\n\n"]))
            elif r < 0.08:
                parts.append(str(rng.randrange(10_000)))
        yield " ".join(parts)


tok = Tokenizer(models.BPE())
tok.normalizer = normalizers.NFC()
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
])
tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
trainer = trainers.BpeTrainer(vocab_size=VOCAB, min_frequency=1, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator(corpus(), trainer=trainer)
path = os.path.join(out, "tokenizer.json")
tok.save(path)

# Qwen2.5's layout: added tokens right after the vocabulary; the tiny fixture's post-processor.
j = json.load(open(path))
n = len(j["model"]["vocab"])
j["added_tokens"] = [dict(a, id=n + i) for i, a in enumerate(tiny["added_tokens"][:22])]
j["post_processor"] = tiny["post_processor"]
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(j, f, ensure_ascii=False, indent=2)
os.replace(tmp, path)
check = Tokenizer.from_file(path)
print(f"{path}: {n} vocabulary tokens, {len(j['model']['merges'])} merges, {len(j['added_tokens'])} added, "
      f"{os.path.getsize(path) / 1e6:.1f} MB; sample: {check.encode('Hello wörld, привет 你好 123').ids}")
