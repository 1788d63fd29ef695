#!/usr/bin/python3
"""Writes a random-weight DeepSeek-V3 checkpoint of the seed model's shape (Hugging Face layout),
for benchmarks: vocab 50257, hidden 512, 8 layers (all MoE), 8 heads, q_lora_rank 192,
kv_lora_rank 128, qk_rope 32, qk_nope 32, v 64, 8 routed experts (top-2) + 1 shared,
moe_intermediate_size 768 (about 141 M parameters: 565 MB in F32, 283 MB in BF16).

Usage: /usr/bin/python3 tools/make_seed_shape_checkpoint.py OUT_DIR [--dtype bf16|f32] [--seed N]
           [--shards N] [--logits-ids 1,2,3]
Not committed (too large); deterministic for a given seed. With --logits-ids it also writes
OUT_DIR/reference_logits.npy (float32 [n, vocab], computed in float64 from the stored weights).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference.checkpoint_io import write_model_dir  # noqa: E402
from reference.deepseek_v3 import DeepseekV3Config, DeepseekV3ForCausalLM  # noqa: E402

SEED_SHAPE = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "vocab_size": 50257,
    "hidden_size": 512,
    "intermediate_size": 2048,
    "moe_intermediate_size": 768,
    "num_hidden_layers": 8,
    "num_attention_heads": 8,
    "num_key_value_heads": 8,
    "n_shared_experts": 1,
    "n_routed_experts": 8,
    "routed_scaling_factor": 1.0,
    "kv_lora_rank": 128,
    "q_lora_rank": 192,
    "qk_rope_head_dim": 32,
    "v_head_dim": 64,
    "qk_nope_head_dim": 32,
    "n_group": 1,
    "topk_group": 1,
    "num_experts_per_tok": 2,
    "first_k_dense_replace": 0,
    "moe_layer_freq": 1,
    "norm_topk_prob": True,
    "scoring_func": "sigmoid",
    "topk_method": "noaux_tc",
    "hidden_act": "silu",
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "num_nextn_predict_layers": 0,
    "bos_token_id": 50256,
    "eos_token_id": 50256,
}

DTYPES = {"f32": (torch.float32, "float32"), "bf16": (torch.bfloat16, "bfloat16")}


def random_tensors(cfg: DeepseekV3Config, seed: int, dtype: torch.dtype, mtp: bool = False) -> dict:
    """Same scales as the engine goldens (activations O(1)); e_score_correction_bias stays F32.
    mtp: also the MTP module (model.layers.L), its head shared with lm_head (not stored)."""
    state = DeepseekV3ForCausalLM(cfg, mtp=mtp).state_dict()
    shapes = {k: (tuple(v.shape), v.dtype) for k, v in state.items() if not k.endswith("shared_head.head.weight")}
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, (shape, _) in shapes.items():
        if name.endswith("e_score_correction_bias"):
            out[name] = (0.1 * torch.rand(shape, generator=g) - 0.05).to(torch.float32)
            continue
        if name.endswith("norm.weight") or "layernorm" in name:
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name == "model.embed_tokens.weight":
            t = torch.randn(shape, generator=g)
        else:
            t = torch.randn(shape, generator=g) / shape[1] ** 0.5
        out[name] = t.to(dtype)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1, help="1: model.safetensors; N>1: N shards + index")
    ap.add_argument("--logits-ids", help="comma-separated ids: also write reference_logits.npy")
    ap.add_argument("--mtp", action="store_true",
                    help="add one MTP module (num_nextn_predict_layers 1): random, so for the cost side only")
    args = ap.parse_args()

    torch_dtype, dtype_name = DTYPES[args.dtype]
    config = dict(SEED_SHAPE, torch_dtype=dtype_name, num_nextn_predict_layers=1 if args.mtp else 0)
    cfg = DeepseekV3Config.from_dict(config)
    t0 = time.time()
    tensors = random_tensors(cfg, args.seed, torch_dtype, args.mtp)
    n_params = sum(t.numel() for t in tensors.values())
    n_bytes = sum(t.numel() * t.element_size() for t in tensors.values())
    layout = "hf_single" if args.shards == 1 else "hf_sharded"
    write_model_dir(args.out_dir, config, tensors, layout, n_shards=args.shards)
    print(json.dumps({"out_dir": args.out_dir, "dtype": args.dtype, "parameters": n_params,
                      "tensor_bytes": n_bytes, "seconds": round(time.time() - t0, 1)}))
    if args.logits_ids:
        ids = [int(x) for x in args.logits_ids.split(",")]
        model = DeepseekV3ForCausalLM(cfg)
        model.load_state_dict({k: v.to(torch.float64) for k, v in tensors.items()})
        model.double().eval()
        with torch.no_grad():
            logits = model(torch.tensor(ids))
        np.save(os.path.join(args.out_dir, "reference_logits.npy"), logits.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
