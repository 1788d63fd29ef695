#!/usr/bin/python3
"""Golden data for the bundled-model tests (tests/data/bundled/), computed by the PyTorch
reference (tools/reference/deepseek_v3.py) in float64 from the exported BF16 weights.

  /usr/bin/python3 tools/train/make_goldens.py [--model assets/model] [--dschat build-x/dschat]

Files:
  logits_ids.json  {"text", "ids"}: a fixed prompt (16 tokens)
  logits.npy       float32 [16, 50257]: logits of every position (full sequence)
  greedy.json      {"prompt", "prompt_ids", "reply_ids", "reply_text", "stop"}: the greedy reply
                   (argmax, no sampling) to a fixed chat prompt rendered in the plain template,
                   ended by eos, the stop string "\\nUser:" or after max_new tokens
  run_stdout.txt   what `dschat run --prompt <greedy.json user> --temp 0 -n <max_new_tokens>` prints
  case.json        how they were made: model file digest, margins (smallest top1-top2 logit gap
                   on the greedy path, smallest routing gap), float32-vs-float64 difference
Re-run after every export (the goldens belong to one model.safetensors: case.json has its sha256).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import chat_format  # noqa: E402
from evaluate import EOS, decode  # noqa: E402
from export import load_exported  # noqa: E402
from prepare_data import tokenize_texts  # noqa: E402

LOGITS_TEXT = "And God said, Let there be light: and there was light. And the evening and"
CHAT_USER = "In the beginning God created the heaven and the earth."
MAX_NEW = 40


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@torch.no_grad()
def greedy_reply(model, prompt_ids):
    """Greedy by full recompute; returns reply ids, why it stopped, and the smallest
    top1-top2 gap and routing margin seen on the way."""
    ids, reply = list(prompt_ids), []
    min_gap, min_route = float("inf"), float("inf")
    stop = "length"
    for _ in range(MAX_NEW):
        logits = model.lm_head(model.hidden_states(torch.tensor([ids]))[0, -1])
        min_route = min(min_route, model.routing_margin())
        top2 = logits.topk(2).values
        min_gap = min(min_gap, float(top2[0] - top2[1]))
        nxt = int(logits.argmax())
        ids.append(nxt)
        reply.append(nxt)
        if nxt == EOS:
            stop = "eos"
            break
        if any(stop_string in decode(reply) for stop_string in chat_format.STOP_STRINGS):
            stop = "stop_string"  # as the app checks: on the decoded text
            break
    return reply, stop, min_gap, min_route


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "assets", "model"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "data", "bundled"))
    ap.add_argument("--dschat")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model32 = load_exported(args.model, mtp=False)
    model = load_exported(args.model, mtp=False).double()
    chat_prompt = chat_format.render_text([{"role": "user", "content": CHAT_USER}], add_generation_prompt=True)
    logits_ids, chat_ids = tokenize_texts([LOGITS_TEXT, chat_prompt], args.dschat)
    logits_ids = logits_ids[:16]
    if len(logits_ids) != 16:
        raise ValueError(f"logits prompt has {len(logits_ids)} tokens, expected at least 16")

    ids = torch.tensor(logits_ids)
    logits = model(ids)
    route_margin_logits = model.routing_margin()
    logits32 = model32(ids).double()
    rel32 = float((logits32 - logits).abs().max() / logits.abs().max())
    inc = model.forward_incremental(ids)
    rel_inc = float((inc - logits).abs().max() / logits.abs().max())
    reply, stop, min_gap, min_route = greedy_reply(model, chat_ids)

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "logits.npy"), logits.float().numpy())
    with open(os.path.join(args.out, "logits_ids.json"), "w") as f:
        json.dump({"text": LOGITS_TEXT, "ids": logits_ids}, f)
        f.write("\n")
    reply_text = decode(reply)
    # What `dschat run --temp 0 -n MAX_NEW` prints: the plain template's reply without its leading
    # space, cut before the stop string, and a final newline if the reply does not end with one.
    shown = reply_text
    for stop_string in chat_format.STOP_STRINGS:
        shown = shown.split(stop_string)[0]
    shown = shown.lstrip(" \t\r\n")
    if shown and not shown.endswith("\n"):
        shown += "\n"
    with open(os.path.join(args.out, "run_stdout.txt"), "w", encoding="utf-8") as f:
        f.write(shown)
    with open(os.path.join(args.out, "greedy.json"), "w") as f:
        json.dump({"user": CHAT_USER, "prompt": chat_prompt, "prompt_ids": chat_ids, "reply_ids": reply,
                   "reply_text": reply_text, "stop": stop, "max_new_tokens": MAX_NEW}, f, indent=1)
        f.write("\n")
    case = {"model_sha256": sha256(os.path.join(args.model, "model.safetensors")),
            "computed_in": "float64 from the stored BF16 weights (router bias F32)",
            "float32_reference_rel": rel32, "incremental_vs_full_rel": rel_inc,
            "logits_routing_margin": route_margin_logits,
            "greedy_min_top1_top2_gap": min_gap, "greedy_routing_margin": min_route,
            "logits_max_abs": float(logits.abs().max())}
    with open(os.path.join(args.out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print(json.dumps({**case, "reply": reply_text, "stop": stop}, indent=1))


if __name__ == "__main__":
    main()
