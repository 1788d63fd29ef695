#!/usr/bin/python3
"""Exports a training checkpoint as the bundled model directory (Hugging Face layout).

  /usr/bin/python3 tools/train/export.py --run tools/train/runs/final [--out assets/model]

Writes config.json, model.safetensors (BF16; e_score_correction_bias F32),
generation_config.json, and sets chat_template / eos fields of tokenizer_config.json (the file
itself belongs to the tokenizer tooling). The compact training vocabulary is expanded to the
50257 GPT-2 rows: active ids get their trained row, every other id the shared row (train.py).

What is stored: the main model (model.embed_tokens, layers 0..L-1, model.norm; no lm_head:
tie_word_embeddings) and the MTP module as model.layers.L (enorm, hnorm, eh_proj, the decoder
layer, shared_head.norm). Not stored, because DeepSeek-V3 shares them with the main model:
model.layers.L.embed_tokens and model.layers.L.shared_head.head (= the tied embedding).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from reference.deepseek_v3 import DeepseekV3Config, DeepseekV3ForCausalLM  # noqa: E402
from reference.safetensors_io import load_file, save_file  # noqa: E402
import chat_format  # noqa: E402
from train import EOS_ID, FULL_VOCAB  # noqa: E402

# dschat's built-in `plain` template (app/chat/chat_template.cpp), the one the model was trained on.
# The app recognises "User: " / "Assistant:" lines without eos_token as plain (with eos_token they
# would be deepseek-v2); tests/app/chat/chat_template_test.cpp checks this exact text.
PLAIN_CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + \"\\n\\n\" }}"
    "{% elif message['role'] == 'user' %}{{ \"User: \" + message['content'] + \"\\n\" }}"
    "{% elif message['role'] == 'assistant' %}{{ \"Assistant: \" + message['content'] + \"\\n\" }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ \"Assistant:\" }}{% endif %}")

GENERATION_CONFIG = {"bos_token_id": EOS_ID, "eos_token_id": EOS_ID, "do_sample": True,
                     "temperature": 0.7, "top_p": 0.9, "top_k": 40, "max_new_tokens": 128}


def full_config(compact_cfg: dict) -> dict:
    cfg = DeepseekV3Config.from_dict(compact_cfg).to_dict()
    cfg.update(vocab_size=FULL_VOCAB, architectures=["DeepseekV3ForCausalLM"], torch_dtype="bfloat16",
               initializer_range=0.02, use_cache=True, num_nextn_predict_layers=1)
    order = ["architectures", "model_type", "torch_dtype", "vocab_size", "hidden_size", "intermediate_size",
             "moe_intermediate_size", "num_hidden_layers", "num_nextn_predict_layers", "num_attention_heads",
             "num_key_value_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
             "v_head_dim", "first_k_dense_replace", "moe_layer_freq", "n_routed_experts", "n_shared_experts",
             "num_experts_per_tok", "scoring_func", "topk_method", "n_group", "topk_group", "norm_topk_prob",
             "routed_scaling_factor", "hidden_act", "rms_norm_eps", "rope_theta", "rope_scaling",
             "max_position_embeddings", "attention_bias", "tie_word_embeddings", "bos_token_id",
             "eos_token_id", "initializer_range", "use_cache"]
    return {k: cfg[k] for k in order}


def export_tensors(state: dict, active: np.ndarray, num_layers: int) -> dict:
    """Compact fp32 state dict -> {name: tensor} as stored (BF16, router bias F32)."""
    compact_emb = state["model.embed_tokens.weight"]
    to_compact = np.full(FULL_VOCAB, len(active), dtype=np.int64)
    to_compact[active] = np.arange(len(active))
    out = {"model.embed_tokens.weight": compact_emb[torch.from_numpy(to_compact)]}
    skip = ("lm_head.weight", "model.embed_tokens.weight", f"model.layers.{num_layers}.shared_head.head.weight",
            f"model.layers.{num_layers}.embed_tokens.weight")
    for name, t in state.items():
        if name in skip:
            continue
        out[name] = t
    return {n: (t.to(torch.float32) if n.endswith("e_score_correction_bias") else t.to(torch.bfloat16)).contiguous()
            for n, t in out.items()}


def load_exported(model_dir: str, mtp: bool = True) -> DeepseekV3ForCausalLM:
    """The exported model as the reference module in float32 (BF16 weights upcast exactly)."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = DeepseekV3Config.from_dict(json.load(f))
    model = DeepseekV3ForCausalLM(cfg, mtp=mtp)
    tensors = {n: t.to(torch.float32) for n, t in load_file(os.path.join(model_dir, "model.safetensors")).items()}
    if not mtp:
        tensors = {n: t for n, t in tensors.items() if not n.startswith(f"model.layers.{cfg.num_hidden_layers}.")}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    tied = {"lm_head.weight", f"model.layers.{cfg.num_hidden_layers}.shared_head.head.weight"}
    if set(missing) - tied or unexpected:
        raise ValueError(f"{model_dir}: missing {sorted(set(missing) - tied)}, unexpected {unexpected}")
    model.eval()
    model.requires_grad_(False)
    return model


def update_tokenizer_config(path: str):
    with open(path) as f:
        tc = json.load(f)
    tc["chat_template"] = PLAIN_CHAT_TEMPLATE
    tc["eos_token"] = chat_format.EOS
    with open(path, "w") as f:
        json.dump(tc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", default=os.path.join(REPO, "assets", "model"))
    ap.add_argument("--checkpoint", default="ckpt.pt",
                    help="file in RUN: ckpt.pt (the latest step) or best.pt (train.py --keep-best)")
    args = ap.parse_args()
    ck = torch.load(os.path.join(args.run, args.checkpoint))
    active = np.asarray(ck["active"])
    cfg = full_config(ck["cfg"])
    tensors = export_tensors(ck["model"], active, cfg["num_hidden_layers"])
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_file(tensors, os.path.join(args.out, "model.safetensors"),
              metadata={"format": "pt", "training_step": str(ck["step"]), "training_tokens": str(ck["tokens"])})
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(GENERATION_CONFIG, f, indent=2)
        f.write("\n")
    tc_path = os.path.join(args.out, "tokenizer_config.json")
    if os.path.exists(tc_path):
        update_tokenizer_config(tc_path)
    n_params = sum(t.numel() for t in tensors.values())
    print(json.dumps({"step": ck["step"], "tokens": ck["tokens"], "stored_parameters": n_params,
                      "bytes": os.path.getsize(os.path.join(args.out, "model.safetensors"))}))


if __name__ == "__main__":
    main()
