#!/usr/bin/env python3
"""llama.cpp's batched decoding throughput on a GGUF file through llama-cpp-python's low-level API, measured the
way `llama-batched-bench` measures its TG part: B sequences, each with its own KV cells, decode one token each per
`llama_decode` call (one batch of B tokens, logits for every row), N steps from an empty cache; tokens/s summed
over the sequences. One warm-up run, then the median of --runs, for each B of --batches.

    python3 Benchmarks/llama_batched_bench.py MODEL.gguf [--threads 2] [--batches 1,2,4,8] [--tg 64] [--runs 3]

Token ids: the same linear congruential sequences as `omni bench batch` (seed 2 + sequence index).
"""
import argparse
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


def first(module, *names):
    """The first of `names` that this llama-cpp-python version exports."""
    for n in names:
        if hasattr(module, n):
            return getattr(module, n)
    raise AttributeError(f"llama_cpp has none of {names}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,2,4,8")
    ap.add_argument("--tg", type=int, default=64, help="decode steps per sequence per run")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(b) for b in args.batches.split(",")]

    import llama_cpp as L
    quiet = L.llama_log_callback(lambda level, text, data: None)   # kept alive for the whole run
    L.llama_log_set(quiet, None)
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    model = first(L, "llama_model_load_from_file", "llama_load_model_from_file")(args.model.encode(), mparams)
    if not model:
        sys.exit(f"could not load {args.model}")
    vocab_obj = L.llama_model_get_vocab(model) if hasattr(L, "llama_model_get_vocab") else None
    vocab = L.llama_vocab_n_tokens(vocab_obj) if vocab_obj is not None else L.llama_n_vocab(model)

    for b in sizes:
        cparams = L.llama_context_default_params()
        cparams.n_ctx = b * (args.tg + 16)
        cparams.n_batch = max(b, 32)
        cparams.n_ubatch = max(b, 32)
        cparams.n_seq_max = b
        cparams.n_threads = args.threads
        cparams.n_threads_batch = args.threads
        ctx = first(L, "llama_init_from_model", "llama_new_context_with_model")(model, cparams)
        if not ctx:
            sys.exit(f"could not make a context for batch {b}")
        batch = L.llama_batch_init(b, 0, b)
        seqs = [token_ids(args.tg, vocab, 2 + s) for s in range(b)]

        def clear():
            if hasattr(L, "llama_memory_clear"):
                L.llama_memory_clear(L.llama_get_memory(ctx), True)
            else:
                first(L, "llama_kv_self_clear", "llama_kv_cache_clear")(ctx)

        secs = []
        for r in range(args.runs + 1):
            clear()
            t0 = time.perf_counter()
            for step in range(args.tg):
                batch.n_tokens = b
                for s in range(b):
                    batch.token[s] = seqs[s][step]
                    batch.pos[s] = step
                    batch.n_seq_id[s] = 1
                    batch.seq_id[s][0] = s
                    batch.logits[s] = 1
                rc = L.llama_decode(ctx, batch)
                if rc != 0:
                    sys.exit(f"llama_decode returned {rc} at batch {b}, step {step}")
            L.llama_synchronize(ctx)
            dt = time.perf_counter() - t0
            if r > 0:
                secs.append(dt)
        L.llama_batch_free(batch)
        L.llama_free(ctx)
        work = b * args.tg
        rates = [work / s for s in secs]
        med = work / statistics.median(secs)
        print(f"batch {b}: {med:.2f} tokens/s (summed over sequences; median of {args.runs} runs; "
              f"min {min(rates):.2f}, max {max(rates):.2f}), {med / b:.2f} per sequence, {args.threads} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
