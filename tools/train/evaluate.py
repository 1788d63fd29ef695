#!/usr/bin/python3
"""Held-out loss of an exported model directory (full 50257-way softmax of the stored BF16
weights, upcast to float32), and sample chat replies.

  /usr/bin/python3 tools/train/evaluate.py [--model assets/model] [--windows 0] [--samples]

Held-out stream: runs/data/valid.npy (prepare_data.py), cut into non-overlapping windows of
--seq tokens (each token predicted once, with the context since its window start). Reports
the mean loss over all tokens and over verse text only (template tokens "User", "Assistant",
their ":" and the line-ending "\\n", and the eos separators excluded).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import chat_format  # noqa: E402
from export import load_exported  # noqa: E402
from prepare_data import tokenize_texts  # noqa: E402

USER, ASSISTANT, COLON, NEWLINE, EOS = 12982, 48902, 25, 198, 50256

SAMPLE_PROMPTS = ["In the beginning God created the heaven and the earth.",
                  "Who is the Lord?",
                  "Blessed are the poor in spirit: for theirs is the kingdom of heaven.",
                  "Tell me about the sea.",
                  "And the king said unto his servants,"]


def template_mask(ids: np.ndarray) -> np.ndarray:
    """True where a token belongs to the plain template or the conversation separator."""
    mask = np.zeros(len(ids), dtype=bool)
    for i, t in enumerate(ids):
        line_start = i == 0 or ids[i - 1] in (NEWLINE, EOS)
        if t in (NEWLINE, EOS):
            mask[i] = True
        elif t in (USER, ASSISTANT) and line_start:
            mask[i] = True
        elif t == COLON and i > 0 and mask[i - 1] and ids[i - 1] in (USER, ASSISTANT):
            mask[i] = True
    return mask


@torch.no_grad()
def window_losses(model_dir: str, valid: np.ndarray, starts: list, seq: int) -> np.ndarray:
    """Per-token full-vocabulary cross-entropy of the windows beginning at `starts`."""
    torch.set_num_threads(1)
    model = load_exported(model_dir, mtp=False)
    out = []
    for b in range(0, len(starts), 8):
        w = torch.from_numpy(np.stack([valid[s:s + seq + 1] for s in starts[b:b + 8]]).astype(np.int64))
        logits = model(w[:, :-1])
        out.append(F.cross_entropy(logits.flatten(0, 1), w[:, 1:].flatten(), reduction="none").numpy())
    return np.concatenate(out).astype(np.float64)


def heldout_loss(model_dir: str, valid: np.ndarray, seq: int, windows: int = 0, workers: int = 2) -> dict:
    n = (len(valid) - 1) // seq
    if windows:
        n = min(n, windows)
    starts = [i * seq for i in range(n)]
    parts = [starts[k * n // workers:(k + 1) * n // workers] for k in range(workers)]
    if workers > 1:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            ce = np.concatenate(pool.starmap(window_losses, [(model_dir, valid, p, seq) for p in parts]))
    else:
        ce = window_losses(model_dir, valid, starts, seq)
    mask = template_mask(valid)
    is_text = np.concatenate([~mask[s + 1:s + seq + 1] for s in starts])
    loss = float(ce.mean())
    text_loss = float(ce[is_text].mean())
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": int(ce.size),
            "verse_text_loss": text_loss, "verse_text_perplexity": math.exp(text_loss),
            "verse_text_tokens": int(is_text.sum()), "window": seq,
            "method": "exported BF16 weights upcast to float32, full 50257-way softmax"}


@torch.no_grad()
def generate(model, prompt_ids, max_new, temperature=0.0, top_p=1.0, seed=0, stop_strings=()):
    """Greedy (temperature 0) or nucleus sampling by full recompute; stops at eos or when the
    decoded reply contains one of `stop_strings` (as the app checks)."""
    g = torch.Generator().manual_seed(seed)
    ids = list(prompt_ids)
    out = []
    for _ in range(max_new):
        # last position only (same as model(ids)[-1], without the head over the whole prefix)
        logits = model.lm_head(model.hidden_states(torch.tensor([ids]))[0, -1]).double()
        if temperature <= 0:
            nxt = int(logits.argmax())
        else:
            probs = torch.softmax(logits / temperature, -1)
            sp, si = probs.sort(descending=True)
            keep = (sp.cumsum(0) - sp) < top_p
            sp = sp * keep
            nxt = int(si[torch.multinomial(sp / sp.sum(), 1, generator=g)])
        ids.append(nxt)
        out.append(nxt)
        if nxt == EOS or any(stop in decode(out) for stop in stop_strings):
            break
    return out


def _bytes_to_unicode():
    """GPT-2's byte <-> printable-character map used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


_VOCAB = None


def decode(ids):
    """Ids -> text with assets/model/tokenizer.json (eos dropped, invalid UTF-8 replaced)."""
    global _VOCAB
    if _VOCAB is None:
        with open(os.path.join(REPO, "assets", "model", "tokenizer.json"), encoding="utf-8") as f:
            vocab = json.load(f)["model"]["vocab"]
        byte_of = {c: b for b, c in _bytes_to_unicode().items()}
        _VOCAB = {i: bytes(byte_of[c] for c in tok) for tok, i in vocab.items()}
    return b"".join(_VOCAB[i] for i in ids if i != EOS).decode("utf-8", errors="replace")


def shown_reply(text):
    """The reply as the app shows it: cut before a stop string, surrounding whitespace removed."""
    for stop in chat_format.STOP_STRINGS:
        text = text.split(stop)[0]
    return text.strip()


def samples(model, dschat=None, n=60):
    prompts = [chat_format.render_text([{"role": "user", "content": p}], add_generation_prompt=True)
               for p in SAMPLE_PROMPTS]
    prompt_ids = tokenize_texts(prompts, dschat)
    out = []
    for p, ids in zip(SAMPLE_PROMPTS, prompt_ids):
        greedy = generate(model, ids, n, stop_strings=chat_format.STOP_STRINGS)
        sampled = generate(model, ids, n, temperature=0.7, top_p=0.9, seed=1, stop_strings=chat_format.STOP_STRINGS)
        out.append({"user": p, "greedy": shown_reply(decode(greedy)),
                    "sampled (T 0.7, top-p 0.9, seed 1)": shown_reply(decode(sampled))})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "assets", "model"))
    ap.add_argument("--data", default=os.path.join(HERE, "runs", "data"))
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--windows", type=int, default=0, help="0: the whole held-out stream")
    ap.add_argument("--samples", action="store_true")
    ap.add_argument("--dschat")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="processes for the held-out loss")
    ap.add_argument("--out", help="write the result as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    valid = np.load(os.path.join(args.data, "valid.npy"))
    result = {"heldout": heldout_loss(args.model, valid, args.seq, args.windows, args.workers)}
    print(json.dumps(result), flush=True)
    if args.samples:
        result["samples"] = samples(load_exported(args.model, mtp=False), args.dschat)
        print(json.dumps(result["samples"], indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
