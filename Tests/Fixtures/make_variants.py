#!/usr/bin/env python3
"""Reference fixtures for checkpoint shapes other than the public tiny one, made with the team's
make_fixtures.py (HF transformers computes the outputs), so the loader and the thinker are tested on more
than one set of dimensions and config spellings.

    python3 Tests/Fixtures/make_variants.py PATH/TO/make_fixtures.py OUTDIR [VARIANT ...]

Needs torch and transformers 5.x (the accelerator machine has both). Writes OUTDIR/tiny-omni-NAME/ for each
variant; the project keeps the model files (without the multimodal references it does not test yet) under
Tests/Fixtures/variants/NAME/.
"""
import importlib.util
import os
import sys

# Shapes chosen to differ from the public fixture everywhere the thinker's text path has a choice:
# hidden not a power of two, 5 heads over 1 KV head (GQA 5), 3 layers, a different mrope split, an odd-looking
# MLP width and vocabulary, and the `rope_parameters` spelling transformers 5 writes (hub_style False).
# The towers, talker and token2wav keep the public fixture's sizes; their outputs feed a thinker of other width.
OURS = {
    "gqa5": dict(seed=2468, hidden=80, heads=5, kv=1, layers=3, mrope=[4, 2, 2], inter=112, vocab=2112,
                 vdepth=2, vfull=[1], vheads=4, vhidden=64, alayers=2, aheads=4, ahidden=64,
                 thidden=64, theads=4, tkv=2, tlayers=2, tmrope=[2, 3, 3],
                 dhidden=64, dheads=4, dlayers=2, bigvgan=64, hub_style=False),
}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    script, out, names = sys.argv[1], sys.argv[2], sys.argv[3:] or list(OURS)
    spec = importlib.util.spec_from_file_location("make_fixtures", script)
    mf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf)
    for n in names:
        if n not in OURS:
            sys.exit(f"unknown variant {n!r}; known: {', '.join(OURS)}")
        mf.VARIANTS[n] = OURS[n]
    sys.argv = [script, out] + names
    os.makedirs(out, exist_ok=True)
    mf.main()


if __name__ == "__main__":
    main()
