#!/usr/bin/python3
"""How much of the held-out loss comes from verses the added texts quote (assets/model/README.md,
Data): held-out tokens are split into those of verses sharing a run of 8 words (lower-cased letters
only) with the cleaned extra texts, and the rest; the mean loss of each part per model directory.

  /usr/bin/python3 tools/train/quote_overlap.py MODEL_DIR [MODEL_DIR ...] [--extra mhcc,tdavid]
"""
import argparse
import json
import multiprocessing
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluate  # noqa: E402
import extra_texts  # noqa: E402
import prepare_data  # noqa: E402

RUN_WORDS = 8


def gpt2_byte_decoder():
    """GPT-2's byte-level alphabet: printable character -> byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def words(s):
    return re.findall(r"[a-z]+", s.lower())


def quoted_token_mask(valid, extra_names):
    """True for held-out tokens inside a verse that shares a RUN_WORDS-word run with the extra texts."""
    with open(os.path.join(prepare_data.REPO, "assets", "model", "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    token_of, byte_of = {i: t for t, i in vocab.items()}, gpt2_byte_decoder()
    pieces = [b"" if t == evaluate.EOS else bytes(byte_of[c] for c in token_of[int(t)]) for t in valid]
    offsets = np.cumsum([0] + [len(p) for p in pieces])
    text = b"".join(pieces).decode("ascii")  # the KJV text is ASCII: byte offsets are character offsets
    held_out = [v for v in prepare_data.read_kjv() if v[0] in prepare_data.HELD_OUT_BOOKS]
    extra = " ".join(" ".join(words(s)) for name in extra_names
                     for passage in extra_texts.read(name, prepare_data.HELD_OUT_BOOKS)[0] for s in passage)
    quoted = np.zeros(len(text), dtype=bool)
    pos = 0
    for v in held_out:
        i = text.find(v[3], pos)
        if i < 0:  # a chapter's lone last verse is not in the stream
            continue
        pos = i + len(v[3])
        w = words(v[3])
        if any(" ".join(w[k:k + RUN_WORDS]) in extra for k in range(len(w) - RUN_WORDS + 1)):
            quoted[i:pos] = True
    return np.array([quoted[offsets[k]:offsets[k + 1]].any() for k in range(len(valid))])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--extra", default="mhcc,tdavid")
    ap.add_argument("--seq", type=int, default=256)
    args = ap.parse_args()
    valid = np.load(os.path.join(HERE, "runs", "data", "valid.npy"))
    mask = quoted_token_mask(valid, args.extra.split(","))
    n = (len(valid) - 1) // args.seq
    starts = [i * args.seq for i in range(n)]
    target_quoted = np.concatenate([mask[s + 1:s + args.seq + 1] for s in starts])
    print(f"predicted held-out tokens in quoted verses: {int(target_quoted.sum())} of {target_quoted.size}")
    for model_dir in args.models:
        parts = [starts[:n // 2], starts[n // 2:]]
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            ce = np.concatenate(pool.starmap(evaluate.window_losses, [(model_dir, valid, p, args.seq) for p in parts]))
        print(f"{model_dir}: all {ce.mean():.4f}, quoted verses {ce[target_quoted].mean():.4f}, "
              f"other tokens {ce[~target_quoted].mean():.4f}", flush=True)


if __name__ == "__main__":
    main()
