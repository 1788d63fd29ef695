#!/usr/bin/python3
"""Writes tests/data/bundled_mtp/: the bundled model's multi-token-prediction module (model.layers.4)
run by the PyTorch reference (tools/reference/deepseek_v3.py forward_mtp) in float64 from the stored
BF16 weights, over the token ids of tests/data/bundled/logits_ids.json.

  mtp_logits.npy  float32 [T-1, COLUMNS]: MTP logits of positions 0..T-2 (position i combines the
                  main model's final-normed hidden h_i with emb(ids[i+1]); it predicts ids[i+2]),
                  for vocabulary ids 0..COLUMNS-1 (the file stays small)
  case.json       the ids, the argmax over the whole vocabulary per position, and its margin

Usage: /usr/bin/python3 tools/make_mtp_goldens.py [--model assets/model] [--out tests/data/bundled_mtp]
Deterministic: rerunning rewrites byte-identical files.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "train"))
from export import load_exported  # noqa: E402

COLUMNS = 1024


def main() -> None:
    root = os.path.dirname(HERE)
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(root, "assets", "model"))
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "bundled_mtp"))
    args = ap.parse_args()
    with open(os.path.join(root, "tests", "data", "bundled", "logits_ids.json")) as f:
        ids = json.load(f)["ids"]
    model = load_exported(args.model, mtp=True).double()
    batch = torch.tensor([ids])
    with torch.no_grad():
        hidden = model.hidden_states(batch)          # final-normed, [1, T, H]
        logits = model.forward_mtp(batch, hidden)[0]  # [T-1, V]
    top2 = logits.topk(2, dim=-1).values
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "mtp_logits.npy"), logits[:, :COLUMNS].numpy().astype(np.float32))
    case = {
        "computed_in": "float64 from the stored BF16 weights (router bias F32), tools/reference forward_mtp",
        "ids": ids,
        "columns": COLUMNS,
        "argmax": [int(i) for i in logits.argmax(dim=-1)],
        "min_top1_top2_gap": float((top2[:, 0] - top2[:, 1]).min()),
        "logits_max_abs": float(logits.abs().max()),
    }
    with open(os.path.join(args.out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {len(ids) - 1} positions, argmax {case['argmax']}")


if __name__ == "__main__":
    main()
