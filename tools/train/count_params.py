#!/usr/bin/python3
"""Parameter counts and exported size of a shape: count_params.py shapes/X.json ..."""
import json
import sys

import torch

from train import FULL_VOCAB, model_config
from reference.deepseek_v3 import DeepseekV3ForCausalLM


def counts(shape: dict) -> dict:
    model = DeepseekV3ForCausalLM(model_config(shape, FULL_VOCAB), mtp=True)
    L = model.cfg.num_hidden_layers
    seen, c = set(), {"embedding": 0, "main_layers": 0, "mtp_layer": 0, "final_norm": 0,
                      "routed_experts_main": 0}
    for name, p in model.named_parameters():  # named_parameters skips tied duplicates
        if id(p) in seen:
            continue
        seen.add(id(p))
        if name.startswith("model.embed_tokens"):
            c["embedding"] += p.numel()
        elif name.startswith(f"model.layers.{L}."):
            c["mtp_layer"] += p.numel()
        elif name.startswith("model.layers."):
            c["main_layers"] += p.numel()
            if ".mlp.experts." in name:
                c["routed_experts_main"] += p.numel()
        else:
            c["final_norm"] += p.numel()
    E, k = model.cfg.n_routed_experts, model.cfg.num_experts_per_tok
    c["main_total"] = c["embedding"] + c["main_layers"] + c["final_norm"]
    c["main_active_per_token"] = c["main_total"] - c["routed_experts_main"] * (E - k) // E
    c["stored_total"] = c["main_total"] + c["mtp_layer"]
    c["safetensors_mb_bf16"] = round(2 * c["stored_total"] / 1e6, 2)
    return c


if __name__ == "__main__":
    torch.set_num_threads(1)
    for path in sys.argv[1:]:
        print(path, json.dumps(counts(json.load(open(path)))))
