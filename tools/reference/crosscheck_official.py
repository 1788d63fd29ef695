#!/usr/bin/python3
"""Cross-check of tools/reference against DeepSeek's published inference/model.py
(github.com/deepseek-ai/DeepSeek-V3, inference/model.py), run on the same random weights.

Usage:
  git -C <DeepSeek-V3 clone or mirror> show HEAD:inference/model.py > /tmp/ds_model.py
  /usr/bin/python3 tools/reference/crosscheck_official.py /tmp/ds_model.py [tests/data/engine]

The official code is run unmodified except for what a CPU/torch-1.13 run needs: its `kernel`
import (fp8 Triton kernels) is stubbed, F.rms_norm (torch >= 2.4) is provided, world_size is 1,
weights are float64 instead of bf16/fp8, and (variant "f64 rope and softmax") its RoPE's float32 casts are
raised to float64, and so are its float32 softmaxes (attention and softmax gate). Names are mapped as its convert.py does. Logits for every position come from
its own modules (embed, layers, norm, head), the last position of Transformer.forward and its
token-by-token decode (start_pos, latent caches) are checked too.

The official code ties semantics to its config differently from Hugging Face, so each case
states what is compared: sigmoid => weights always normalised, softmax => never; group scores
are top-2 sums when the gate has a bias, max otherwise; YaRN only when max_seq_len >
original_seq_len and without Hugging Face's attention_factor (= 1 when mscale == mscale_all_dim).
"""
import importlib.util
import os
import sys
import tempfile
import types

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from reference.checkpoint_io import read_model_dir  # noqa: E402
from reference.deepseek_v3 import DeepseekV3ForCausalLM, ReferenceOptions  # noqa: E402

CONVERT_MAPPING = {  # inference/convert.py
    "embed_tokens": "embed", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "q_proj": "wq", "q_a_proj": "wq_a", "q_a_layernorm": "q_norm", "q_b_proj": "wq_b",
    "kv_a_proj_with_mqa": "wkv_a", "kv_a_layernorm": "kv_norm", "kv_b_proj": "wkv_b", "o_proj": "wo",
    "gate": "gate", "gate_proj": "w1", "down_proj": "w2", "up_proj": "w3", "norm": "norm", "lm_head": "head",
}


def load_official(model_py: str, f64_rope: bool):
    if not hasattr(F, "rms_norm"):
        def rms_norm(x, shape, weight, eps):
            return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
        F.rms_norm = rms_norm
    kernel = types.ModuleType("kernel")
    for fn in ("act_quant", "weight_dequant", "fp8_gemm"):
        setattr(kernel, fn, lambda *a, **k: (_ for _ in ()).throw(RuntimeError("fp8 kernel not available")))
    sys.modules["kernel"] = kernel
    src = open(model_py).read()
    if f64_rope:
        src = src.replace("x.float().view(", "x.double().view(")
        src = src.replace("dtype=torch.float32) / dim", "dtype=torch.float64) / dim")
        src = src.replace("softmax(dim=-1, dtype=torch.float32)", "softmax(dim=-1, dtype=torch.float64)")
    path = os.path.join(tempfile.mkdtemp(), "ds_official_model.py")
    with open(path, "w") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("ds_official_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def convert_names(tensors: dict) -> dict:
    out = {}
    for name, t in tensors.items():
        if name.startswith("model."):
            name = name[len("model."):]
        name = name.replace("self_attn", "attn").replace("mlp", "ffn")
        name = name.replace("e_score_correction_bias", "bias")
        key = name.split(".")[-2]
        name = name.replace(key, CONVERT_MAPPING[key])
        out[name] = t
    return out


def official_args(mod, cfg, max_seq_len: int):
    rs = cfg.rope_scaling or {}
    return mod.ModelArgs(
        max_batch_size=1, max_seq_len=max_seq_len, vocab_size=cfg.vocab_size, dim=cfg.hidden_size,
        inter_dim=cfg.intermediate_size, moe_inter_dim=cfg.moe_intermediate_size,
        n_layers=cfg.num_hidden_layers, n_dense_layers=cfg.first_k_dense_replace,
        n_heads=cfg.num_attention_heads, n_routed_experts=cfg.n_routed_experts,
        n_shared_experts=cfg.n_shared_experts, n_activated_experts=cfg.num_experts_per_tok,
        n_expert_groups=cfg.n_group, n_limited_groups=cfg.topk_group, score_func=cfg.scoring_func,
        route_scale=cfg.routed_scaling_factor, q_lora_rank=cfg.q_lora_rank or 0,
        kv_lora_rank=cfg.kv_lora_rank, qk_nope_head_dim=cfg.qk_nope_head_dim,
        qk_rope_head_dim=cfg.qk_rope_head_dim, v_head_dim=cfg.v_head_dim,
        original_seq_len=int(rs.get("original_max_position_embeddings", 1 << 30)),
        rope_theta=cfg.rope_theta, rope_factor=float(rs.get("factor", 1.0)),
        beta_fast=rs.get("beta_fast", 32), beta_slow=rs.get("beta_slow", 1),
        mscale=float(rs.get("mscale_all_dim", 1.0)))


def run_official(mod, cfg, tensors, ids, attn_impl: str):
    mod.attn_impl = attn_impl
    args = official_args(mod, cfg, max_seq_len=64 if cfg.rope_scaling is None else 2 * len(ids))
    model = mod.Transformer(args)
    has_bias = cfg.topk_method == "noaux_tc"
    for layer in model.layers:  # upstream creates the gate bias only when dim == 7168
        if hasattr(layer.ffn, "gate"):
            layer.ffn.gate.bias = torch.nn.Parameter(torch.zeros(cfg.n_routed_experts)) if has_bias else None
    model.double()
    state = convert_names({k: v.to(torch.float64) for k, v in tensors.items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all("cache" in m for m in missing), (missing, unexpected)
    tokens = torch.tensor([ids])
    with torch.inference_mode():
        T = tokens.shape[1]
        h = model.embed(tokens)
        mask = torch.full((T, T), float("-inf")).triu_(1)
        for layer in model.layers:
            h = layer(h, 0, model.freqs_cis[:T], mask)
        full = model.head(model.norm(h))[0]
        last = model(tokens)[0]
        for layer in model.layers:  # fresh caches for the decode
            for name in ("kv_cache", "pe_cache", "k_cache", "v_cache"):
                if hasattr(layer.attn, name):
                    getattr(layer.attn, name).zero_()
        steps = torch.stack([model(tokens[:, t:t + 1], start_pos=t)[0] for t in range(T)])
    return full, last, steps


def compare(label, cfg, tensors, ids, mod, opts=None):
    ref = DeepseekV3ForCausalLM(cfg, opts)
    ref.load_state_dict({k: v.to(torch.float64) for k, v in tensors.items()}, strict=False)
    ref.double().eval()
    with torch.no_grad():
        golden = ref(torch.tensor(ids))
    scale = golden.abs().max().item()
    results = {}
    for impl in ("naive", "absorb"):
        full, last, steps = run_official(mod, cfg, tensors, ids, impl)
        results[impl] = ((full - golden).abs().max().item() / scale,
                         (last - golden[-1]).abs().max().item() / scale,
                         (steps - golden).abs().max().item() / scale)
    print(f"{label}: max|official - reference| / max|reference| "
          + ", ".join(f"{impl}: full {r[0]:.2e} last {r[1]:.2e} decode {r[2]:.2e}" for impl, r in results.items()))
    return max(max(r) for r in results.values())


def main():
    model_py = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "tests", "data", "engine")
    import json
    worst = {}
    for f64_rope in (False, True):
        mod = load_official(model_py, f64_rope)
        variant = "f64 rope and softmax" if f64_rope else "as published (f32 rope and softmax)"
        print(f"--- official inference/model.py, {variant}")
        for case, changes in (
                ("qlora_sigmoid_groups", {}),  # sigmoid, bias, groups (top-2 sums), norm, scale 2.5, dense first
                ("no_qlora_softmax_v2", {"norm_topk_prob": False}),  # softmax, max-ranked groups, scaled
                ("yarn", {"rope_scaling": None}),  # plain RoPE on the yarn case's weights
                ("yarn", "yarn_equal_mscale"),
                ("bf16_mixed", {}),
                ("f16", {})):  # softmax, greedy, not normalised, scaled: V2 rule == official
            cfg, tensors = read_model_dir(os.path.join(data, case, "model"))
            ids = json.load(open(os.path.join(data, case, "ids.json")))["ids"]
            label = case
            if changes == "yarn_equal_mscale":
                rs = dict(cfg.rope_scaling)
                rs["mscale"] = rs["mscale_all_dim"]  # official has no attention_factor: compare where it is 1
                cfg = cfg.replace(rope_scaling=rs)
                label += " (mscale = mscale_all_dim)"
            elif changes:
                cfg = cfg.replace(**changes)
                label += f" {changes}"
            worst[(variant, label)] = compare(label, cfg, tensors, ids, mod)
    print("worst relative difference:", max(worst.values()))
    # Negative controls: the comparison can fail (features switched off in the reference only).
    cfg, tensors = read_model_dir(os.path.join(data, "qlora_sigmoid_groups", "model"))
    ids = json.load(open(os.path.join(data, "qlora_sigmoid_groups", "ids.json")))["ids"]
    for feature, opts in (("rotate-half RoPE", ReferenceOptions(rope_interleaved=False)),
                          ("group mask 0.0 (HF)", ReferenceOptions(group_mask_value=0.0)),
                          ("bias not for choice", ReferenceOptions(bias_for_choice=False))):
        d = compare(f"negative control, reference with {feature}", cfg, tensors, ids, mod, opts)
        assert d > 1e-2, feature


if __name__ == "__main__":
    main()
