#!/usr/bin/python3
"""Writes tests/data/engine/<case>/layer_trace.npy for the engine's per-layer intermediates test
(tests/engine/deepseek/layer_trace_test.cpp): the float64 reference (tools/reference) run over the
case's stored weights and ids, with the intermediates llama.cpp names attn_norm, attn_out,
ffn_norm, ffn_out and l_out captured by forward hooks on every decoder layer.

Layout: float32 [layers, 5, tokens, hidden], the names in that order.
Usage: /usr/bin/python3 tools/make_layer_trace_goldens.py [--data tests/data/engine] [CASE ...]
Deterministic: rerunning rewrites byte-identical files.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import checkpoint_io  # noqa: E402
from make_engine_goldens import reference_model  # noqa: E402

NAMES = ["attn_norm", "attn_out", "ffn_norm", "ffn_out", "l_out"]
DEFAULT_CASES = ["qlora_sigmoid_groups", "no_qlora_softmax_v2"]


def trace_case(case_dir: str) -> np.ndarray:
    cfg, tensors = checkpoint_io.read_model_dir(os.path.join(case_dir, "model"))
    with open(os.path.join(case_dir, "ids.json")) as f:
        ids = json.load(f)["ids"]
    model = reference_model(cfg, tensors)
    layers = list(model.main_layers())
    out = np.zeros((len(layers), len(NAMES), len(ids), cfg.hidden_size), dtype=np.float64)

    def keep(layer, name):
        def hook(_module, _inputs, output):
            out[layer, NAMES.index(name)] = output.detach().reshape(len(ids), -1).numpy()
        return hook

    for i, layer in enumerate(layers):
        layer.input_layernorm.register_forward_hook(keep(i, "attn_norm"))
        layer.self_attn.register_forward_hook(keep(i, "attn_out"))
        layer.post_attention_layernorm.register_forward_hook(keep(i, "ffn_norm"))
        layer.mlp.register_forward_hook(keep(i, "ffn_out"))
        layer.register_forward_hook(keep(i, "l_out"))
    with torch.no_grad():
        model(torch.tensor(ids))
    return out.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data", "engine"))
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    args = parser.parse_args()
    for case in args.cases:
        trace = trace_case(os.path.join(args.data, case))
        np.save(os.path.join(args.data, case, "layer_trace.npy"), trace)
        print(json.dumps({"case": case, "shape": list(trace.shape), "max_abs": float(np.abs(trace).max())}))


if __name__ == "__main__":
    main()
