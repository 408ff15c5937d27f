#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer_extra.json: extra encode/decode expectations for the tiny tokenizer.

Made with the Python `tokenizers` package (pip install tokenizers; 0.23.3 when first written) from
Models/tiny-omni/tokenizer.json: ids = encode(text, add_special_tokens=False).ids, decoded = decode(ids).
`pieces` are the Qwen2 Split pre-tokenizer's pieces alone (tokenizers.pre_tokenizers.Split with the
pattern below, behavior "isolated"), applied to the NFC-normalized text, so the hand-written
pre-tokenizer can be checked directly.
Run from the repository root: python3 scripts/make_tokenizer_cases.py
"""
import json
import tokenizers
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers

PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

TEXTS = [
    # contractions, case-insensitive, and ones that are not contractions
    "I'M HE'S they'RE we'Ve You'LL it'D don'T", "'s 's's '' 'x 'll've", "rock 'n' roll", "ſ'ſ 'ſ", "'ſx 'sx 'Sx 'ﬅ 'LLx 'ŁL",
    "l'été d'accord", "’s curly",
    # whitespace: runs before words, tabs, CR/LF mixes, trailing, unicode spaces
    "a  b   c    d", "a \n b", "x\r\n\r\ny", "  \n  x", "\n", "\r", " \r\n ", "tab\t\tend\t", "end   ",
    "nbsp\u00a0word\u3000ideo\u2003em", "nel\u0085x", "zwsp\u200bx", "a \u00a0 b",
    # digits and numbers of other scripts
    "1234567890", "3.14159 -42 1e-5", "²³ ½ ٣٤ Ⅻ ①", "v2.0-rc1",
    # punctuation runs and newlines after punctuation
    "!!! ??? ...", "end.\n\nNext", "(a)[b]{c}", "#include <stdio.h>\n", "foo(): bar;\r\n", " !x", "  !x",
    # emoji, ZWJ sequences, flags, CJK, other scripts, combining marks (NFC)
    "👨‍👩‍👧 🇫🇷 ❤️", "日本語のテキスト、句読点。", "한국어 텍스트", "Привет, мир!", "مرحبا بالعالم",
    "e\u0301 cafe\u0301 A\u030a", "Ǆ ǅ ǆ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    # added tokens: adjacent, overlapping prefixes, inside words, partial
    "<|im_start|><|im_end|>", "<|im_start|user", "x<|endoftext|>y", "<|audio_bos|><|AUDIO|><|audio_eos|>",
    "<tool_call>{\"a\": 1}</tool_call>", "<|vision_bos|><|VIDEO|><|vision_eos|> what?",
    # code
    "def f(x):\n    return x**2  # square\n", "if (a && b) { return; }",
]

def long_cases():
    """Long unbroken runs, where the BPE merge order matters most (deterministic: random.seed(5))."""
    import random
    random.seed(5)
    letters = "".join(random.choice("etaoinshrdlucmfwyp") for _ in range(3000))
    mixed = "".join(random.choice("the quick brown fox, 42!\n") for _ in range(3000))
    return [letters, mixed, "ab" * 700 + "ĠĠ" * 50]


def main():
    tok = Tokenizer.from_file("Models/tiny-omni/tokenizer.json")
    split = pre_tokenizers.Split(Regex(PATTERN), behavior="isolated")
    nfc = normalizers.NFC()
    cases = []
    for t in TEXTS + long_cases():
        ids = tok.encode(t, add_special_tokens=False).ids
        pieces = [p for p, _ in split.pre_tokenize_str(nfc.normalize_str(t))]
        cases.append({"text": t, "pieces": pieces, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    out = {"made_by": f"scripts/make_tokenizer_cases.py with tokenizers {tokenizers.__version__} "
                      "from Models/tiny-omni/tokenizer.json", "cases": cases}
    with open("Tests/Fixtures/tokenizer_extra.json", "w", encoding="utf-8") as f:
        # One case per line keeps the file small and its diffs readable.
        f.write('{"made_by": ' + json.dumps(out["made_by"]) + ',\n "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n ]\n}\n")

main()
