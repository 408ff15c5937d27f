#!/usr/bin/env python3
"""llama.cpp's decode (tg) and prefill (pp) speed on a GGUF file through llama-cpp-python, measured the way
`llama-bench` does: pp = one batch of N prompt tokens into an empty cache; tg = N single-token decode steps
from an empty cache; one warm-up run, then the median of --runs.

    python3 Benchmarks/llama_bench.py MODEL.gguf [--threads 2] [--pp 512] [--tg 128] [--runs 5] [--json]
"""
import argparse
import json
import statistics
import sys
import time


def token_ids(n, vocab, seed):
    """The same linear congruential sequence as `omni bench-*` (BenchTiming.tokenIDs)."""
    mask = (1 << 64) - 1
    state = (seed * 6364136223846793005 + 1442695040888963407) & mask
    out = []
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        out.append((state >> 33) % vocab)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pp", type=int, default=512, help="prompt tokens for the prefill test (0: skip)")
    ap.add_argument("--tg", type=int, default=128, help="decode steps for the decode test (0: skip)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    from llama_cpp import Llama
    n_ctx = max(args.pp, args.tg) + 16
    llm = Llama(model_path=args.model, n_threads=args.threads, n_threads_batch=args.threads, n_ctx=n_ctx,
                n_batch=max(args.pp, 1), n_ubatch=max(args.pp, 1), verbose=False)
    vocab = llm.n_vocab()
    result = {"model": args.model, "threads": args.threads}

    def timed(tokens, one_by_one):
        secs = []
        for r in range(args.runs + 1):
            llm.reset()   # n_past = 0; eval drops the cache beyond it
            t0 = time.perf_counter()
            if one_by_one:
                for t in tokens:
                    llm.eval([t])
            else:
                llm.eval(tokens)
            dt = time.perf_counter() - t0
            if r > 0:
                secs.append(dt)
        return len(tokens) / statistics.median(secs)

    if args.pp > 0:
        result[f"pp{args.pp}"] = timed(token_ids(args.pp, vocab, 1), one_by_one=False)
    if args.tg > 0:
        result[f"tg{args.tg}"] = timed(token_ids(args.tg, vocab, 2), one_by_one=True)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k.startswith(("pp", "tg")):
                print(f"{k}: {v:.2f} tokens/s (median of {args.runs} runs, {args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
