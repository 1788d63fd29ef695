#!/usr/bin/python3
"""Writes the engine golden cases tests/data/engine/<case>/ (see tools/README.md):
small random DeepSeek-V3-family checkpoints plus reference logits (float64 from the stored
weights), greedy continuations and per-feature ablations, computed by tools/reference.

Usage: /usr/bin/python3 tools/make_engine_goldens.py [--out tests/data/engine] [--only CASE ...]
Deterministic: fixed seeds; rerunning rewrites byte-identical files.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference.deepseek_v3 import DeepseekV3Config, DeepseekV3ForCausalLM, ReferenceOptions  # noqa: E402
from reference import checkpoint_io  # noqa: E402

ABLATION_MIN_REL = 1e-2      # every ablation must move the logits by >= 100x the 1e-4 tolerance
ROUTING_MIN_MARGIN = 2e-5    # smallest allowed gap at a top-k boundary (experts or groups)
GREEDY_MIN_MARGIN_REL = 1e-3 # smallest allowed top1-top2 logit gap / max|logit| along greedy
N_GREEDY = 32

STORE_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def base_config(**overrides) -> dict:
    """A complete config.json (every key written, so no default is involved)."""
    cfg = {
        "architectures": ["DeepseekV3ForCausalLM"],
        "model_type": "deepseek_v3",
        "vocab_size": 256,
        "hidden_size": 64,
        "intermediate_size": 48,
        "moe_intermediate_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "n_shared_experts": 1,
        "n_routed_experts": 8,
        "routed_scaling_factor": 2.5,
        "kv_lora_rank": 32,
        "q_lora_rank": 48,
        "qk_rope_head_dim": 16,
        "v_head_dim": 8,
        "qk_nope_head_dim": 12,
        "n_group": 1,
        "topk_group": 1,
        "num_experts_per_tok": 2,
        "first_k_dense_replace": 1,
        "moe_layer_freq": 1,
        "norm_topk_prob": True,
        "scoring_func": "sigmoid",
        "topk_method": "noaux_tc",
        "hidden_act": "silu",
        "max_position_embeddings": 256,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "num_nextn_predict_layers": 0,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "torch_dtype": "float32",
    }
    cfg.update(overrides)
    return cfg


def init_weights(model: DeepseekV3ForCausalLM, seed: int, gate_gain: float, bias_range: tuple) -> None:
    """Random weights that keep activations O(1): Linear ~ N(0, 1/in), embeddings ~ N(0, 1),
    norm weights ~ 1 + N(0, 0.2) (so each norm's weight matters), router logits ~ N(0, gate_gain^2),
    e_score_correction_bias ~ U(bias_range)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif name == "model.embed_tokens.weight":
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
            elif name.endswith("mlp.gate.weight"):
                p.copy_(gate_gain * torch.randn(p.shape, generator=g, dtype=torch.float64) / p.shape[1] ** 0.5)
            elif name == "lm_head.weight":
                p.copy_(2.0 * torch.randn(p.shape, generator=g, dtype=torch.float64) / p.shape[1] ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) / p.shape[1] ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                lo, hi = bias_range
                b.copy_(lo + (hi - lo) * torch.rand(b.shape, generator=g, dtype=torch.float64))


def stored_state_dict(model, cfg: DeepseekV3Config, dtype: str, bias_dtype: str) -> dict:
    """The tensors as they go to disk (HF names, storage dtypes; tied lm_head omitted)."""
    out = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        d = bias_dtype if name.endswith("e_score_correction_bias") else dtype
        out[name] = t.detach().to(STORE_DTYPES[d]).contiguous()
    return out


def reference_model(cfg: DeepseekV3Config, tensors: dict, opts=None) -> DeepseekV3ForCausalLM:
    """float64 reference from the stored tensors (BF16/F16 upcast exactly)."""
    m = DeepseekV3ForCausalLM(cfg, opts or ReferenceOptions())
    m.load_state_dict({k: v.to(torch.float64) for k, v in tensors.items()}, strict=False)
    m.double()
    missing = set(m.state_dict()) - set(tensors) - ({"lm_head.weight"} if cfg.tie_word_embeddings else set())
    assert not missing, missing
    return m.eval()


def greedy_margin(logits: torch.Tensor, start: int) -> float:
    top2 = logits[start:].topk(2, dim=-1).values
    return ((top2[:, 0] - top2[:, 1]).min() / logits.abs().max()).item()


# ------------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------------

def ablation(feature, what, cfg=None, opts=None):
    return {"feature": feature, "what": what, "cfg": cfg or {}, "opts": opts or {}}


COMMON_ABLATIONS = [
    ablation("rope_rotate_half", "RoPE pairs (i, i+d/2) instead of DeepSeek's interleaved (2i, 2i+1)",
             opts={"rope_interleaved": False}),
]

V3_GATE_ABLATIONS = [
    ablation("bias_not_for_choice", "e_score_correction_bias ignored when choosing experts",
             opts={"bias_for_choice": False}),
    ablation("norm_topk_prob_flipped", "norm_topk_prob negated", cfg={"norm_topk_prob": "flip"}),
    ablation("routed_scaling_off", "routed_scaling_factor taken as 1.0", cfg={"routed_scaling_factor": 1.0}),
    ablation("shared_experts_off", "shared experts not added", opts={"shared_experts": False}),
]


def case_specs() -> dict:
    specs = {}
    specs["qlora_sigmoid_groups"] = dict(
        config=base_config(n_routed_experts=16, num_experts_per_tok=4, n_group=4, topk_group=2,
                           routed_scaling_factor=2.5, q_lora_rank=48),
        dtype="F32", bias_dtype="F32", layout="hf_single", n_ids=32, seed=1,
        gate_gain=3.0, bias_range=(-1.5, 0.3),
        what="q_lora_rank set (q_a_proj, q_a_layernorm, q_b_proj); sigmoid scores; noaux_tc gate with "
             "n_group 4 / topk_group 2 (groups ranked by the sum of their top-2 biased scores, other "
             "groups masked with -inf); e_score_correction_bias large enough to change choices and "
             "groups; norm_topk_prob; routed_scaling_factor 2.5; 1 shared expert; dense first layer "
             "(first_k_dense_replace 1); untied lm_head; F32.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS + [
            ablation("groups_off", "group-limited choice off (n_group 1)", cfg={"n_group": 1, "topk_group": 1}),
            ablation("group_rank_by_max", "groups ranked by their max biased score (V2 rule) instead of top-2 sum",
                     opts={"group_score": "max"}),
            ablation("group_mask_zero", "non-selected groups filled with 0.0 (Hugging Face) instead of -inf",
                     opts={"group_mask_value": 0.0}),
            ablation("dense_first_mlp_off", "the dense SwiGLU of layer 0 contributes nothing",
                     opts={"dense_mlp": False}),
            ablation("q_a_layernorm_off", "q_a_layernorm skipped", opts={"q_a_layernorm": False}),
            ablation("kv_a_layernorm_off", "kv_a_layernorm skipped", opts={"kv_a_layernorm": False}),
        ])
    specs["no_qlora_softmax_v2"] = dict(
        config=base_config(model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"],
                           q_lora_rank=None, scoring_func="softmax", topk_method="group_limited_greedy",
                           n_routed_experts=8, num_experts_per_tok=3, n_group=4, topk_group=2,
                           routed_scaling_factor=2.0, norm_topk_prob=True, n_shared_experts=2),
        dtype="F32", bias_dtype="F32", layout="hf_single", n_ids=32, seed=2,
        gate_gain=3.0, bias_range=(0.0, 0.0),
        what="q_lora_rank null (full-rank q_proj); DeepSeek-V2 gate: softmax scores, "
             "group_limited_greedy with 8 experts, top-3, n_group 4 / topk_group 2 ranking groups by their max score; "
             "norm_topk_prob true so routed_scaling_factor (2.0) is NOT applied (V2 rule: only when not "
             "normalised); no e_score_correction_bias; 2 shared experts; dense first layer; F32.",
        ablations=COMMON_ABLATIONS + [
            ablation("groups_off", "group-limited choice off (n_group 1)", cfg={"n_group": 1, "topk_group": 1}),
            ablation("group_rank_by_top2sum", "groups ranked by the sum of top-2 scores (V3 rule) instead of max",
                     opts={"group_score": "top2sum"}),
            ablation("v3_scaling_rule", "routed_scaling_factor applied although norm_topk_prob (V3 rule)",
                     opts={"scaling_rule": "v3"}),
            ablation("norm_topk_prob_flipped", "norm_topk_prob false (then V2 scales by 2.0)",
                     cfg={"norm_topk_prob": "flip"}),
            ablation("sigmoid_scores", "sigmoid instead of softmax scores", cfg={"scoring_func": "sigmoid"}),
            ablation("shared_experts_off", "shared experts not added", opts={"shared_experts": False}),
        ])
    yarn = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 24,
            "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.8}
    specs["yarn"] = dict(
        config=base_config(rope_scaling=yarn, max_position_embeddings=96, rope_theta=500.0),
        dtype="F32", bias_dtype="F32", layout="hf_single", n_ids=40, seed=3,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="rope_scaling yarn: factor 4, original_max_position_embeddings 24 (ids: 40, greedy to 72), "
             "beta_fast 32, beta_slow 1, mscale 1.0, mscale_all_dim 0.8 (so cos/sin are multiplied by "
             "attention_factor = mscale(4,1.0)/mscale(4,0.8) and the softmax scale by mscale(4,0.8)^2; "
             "Hugging Face semantics, applied at every position); rope_theta 500; max_position_embeddings 96 = "
             "factor x original_max_position_embeddings, so Hugging Face transformers (which derives the factor "
             "from that ratio), its remote code and DeepSeek's code (which read factor) agree; F32.",
        ablations=COMMON_ABLATIONS + [
            ablation("yarn_off", "rope_scaling ignored (plain RoPE, plain softmax scale)", cfg={"rope_scaling": None}),
            ablation("yarn_softmax_mscale_off", "softmax scale without the mscale(factor, mscale_all_dim)^2 factor",
                     opts={"yarn_softmax_mscale": False}),
            ablation("yarn_attention_factor_off", "cos/sin not multiplied by attention_factor",
                     opts={"yarn_attention_factor": False}),
        ])
    specs["tied_embeddings"] = dict(
        config=base_config(tie_word_embeddings=True),
        dtype="F32", bias_dtype="F32", layout="hf_single", n_ids=24, seed=4,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="tie_word_embeddings true: no lm_head.weight in the file, logits = norm(h) . embed_tokens^T; F32.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS[:1])
    specs["moe_layer_freq_2"] = dict(
        config=base_config(num_hidden_layers=3, first_k_dense_replace=0, moe_layer_freq=2, n_routed_experts=4),
        dtype="F32", bias_dtype="F32", layout="hf_single", n_ids=24, seed=5,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="3 layers, first_k_dense_replace 0, moe_layer_freq 2: layers 0 and 2 are MoE, layer 1 is a "
             "dense SwiGLU (intermediate_size 48); F32.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS[:1] + [
            ablation("dense_mlp_off", "the dense SwiGLU of layer 1 contributes nothing", opts={"dense_mlp": False}),
        ])
    specs["bf16_mixed"] = dict(
        config=base_config(torch_dtype="bfloat16"),
        dtype="BF16", bias_dtype="F32", layout="hf_single", n_ids=24, seed=6,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="BF16 weights with F32 e_score_correction_bias (mixed dtypes); goldens computed in float64 "
             "from the BF16 values upcast exactly.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS[:1])
    specs["f16"] = dict(
        config=base_config(torch_dtype="float16", model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"],
                           q_lora_rank=None, scoring_func="softmax", topk_method="greedy",
                           norm_topk_prob=False, routed_scaling_factor=1.5),
        dtype="F16", bias_dtype="F16", layout="hf_single", n_ids=24, seed=7,
        gate_gain=3.0, bias_range=(0.0, 0.0),
        what="every tensor F16; goldens from the F16 values upcast exactly. DeepSeek-V2-Lite-like gate: "
             "q_lora_rank null, topk_method greedy, softmax, no groups, norm_topk_prob false so the "
             "top-k softmax scores are multiplied by routed_scaling_factor 1.5 (V2 rule); no bias.",
        ablations=COMMON_ABLATIONS + [
            ablation("routed_scaling_off", "routed_scaling_factor taken as 1.0", cfg={"routed_scaling_factor": 1.0}),
            ablation("norm_topk_prob_flipped", "norm_topk_prob true (then V2 does not scale)",
                     cfg={"norm_topk_prob": "flip"}),
        ])
    specs["sharded"] = dict(
        config=base_config(),
        dtype="F32", bias_dtype="F32", layout="hf_sharded", n_ids=24, seed=8,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="Hugging Face sharded layout: model.safetensors.index.json + model-00001-of-00002 and "
             "model-00002-of-00002 (layer 1's experts split across the two shards); F32.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS[:1])
    specs["mlx_layout"] = dict(
        config=base_config(),
        dtype="F32", bias_dtype="F32", layout="mlx", n_ids=24, seed=9,
        gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="MLX layout: weights.safetensors, routed experts stacked as mlp.switch_mlp.{gate,up,down}_proj.weight "
             "[E, out, in]; same DeepSeek-V3 math as the Hugging Face layout; F32.",
        ablations=COMMON_ABLATIONS + V3_GATE_ABLATIONS[:1])
    return specs


def ablated_model(cfg: DeepseekV3Config, tensors: dict, abl: dict) -> DeepseekV3ForCausalLM:
    changes = dict(abl["cfg"])
    if changes.get("norm_topk_prob") == "flip":
        changes["norm_topk_prob"] = not cfg.norm_topk_prob
    return reference_model(cfg.replace(**changes), tensors, ReferenceOptions(**abl["opts"]))


def build_case(name: str, spec: dict, out_root: str) -> dict:
    cfg = DeepseekV3Config.from_dict(spec["config"])
    torch.manual_seed(spec["seed"])
    init = DeepseekV3ForCausalLM(cfg).double()
    init_weights(init, spec["seed"], spec["gate_gain"], spec["bias_range"])
    tensors = stored_state_dict(init, cfg, spec["dtype"], spec["bias_dtype"])
    model = reference_model(cfg, tensors)

    # Pick input ids whose routing and greedy continuation have no near-ties (so an engine that is
    # correct to ~1e-6 cannot take a different branch) and on which every ablation matters.
    ablated = [ablated_model(cfg, tensors, abl) for abl in spec["ablations"]]
    g = torch.Generator().manual_seed(1000 + spec["seed"])
    for attempt in range(200):
        ids = torch.randint(2, cfg.vocab_size, (spec["n_ids"],), generator=g).tolist()
        with torch.no_grad():
            greedy = model.greedy(ids, N_GREEDY)
            full = model(torch.tensor(ids + greedy))
            routing_margin = model.routing_margin()
            g_margin = greedy_margin(full, len(ids) - 1)
            if routing_margin < ROUTING_MIN_MARGIN or g_margin < GREEDY_MIN_MARGIN_REL:
                continue
            logits = model(torch.tensor(ids))
            scale = logits.abs().max().item()
            ablation_logits = [a(torch.tensor(ids)) for a in ablated]
            if all((a - logits).abs().max().item() / scale > ABLATION_MIN_REL for a in ablation_logits):
                break
    else:
        raise RuntimeError(f"{name}: no input ids without near-ties on which every ablation matters")

    with torch.no_grad():
        logits = model(torch.tensor(ids))
        # Self-checks: the absorbed latent-cache decode and a per-prefix recompute agree.
        inc = model.forward_incremental(torch.tensor(ids))
        prefix = torch.stack([model(torch.tensor(ids[:t + 1]))[-1] for t in range(len(ids))])
    scale = logits.abs().max().item()
    inc_rel = (inc - logits).abs().max().item() / scale
    prefix_rel = (prefix - logits).abs().max().item() / scale
    assert inc_rel < 1e-12 and prefix_rel < 1e-12, (name, inc_rel, prefix_rel)

    case_dir = os.path.join(out_root, name)
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(os.path.join(case_dir, "ablations"))
    model_dir = os.path.join(case_dir, "model")
    checkpoint_io.write_model_dir(model_dir, spec["config"], tensors, spec["layout"])

    # The files read back give the same logits (checks the writers and the layout conversion).
    reread_cfg, reread = checkpoint_io.read_model_dir(model_dir)
    with torch.no_grad():
        reread_logits = reference_model(reread_cfg, reread)(torch.tensor(ids))
    assert torch.equal(reread_logits, logits), name

    # What float32 arithmetic reaches on these weights (full and decode paths, greedy tokens).
    f32 = DeepseekV3ForCausalLM(cfg)
    f32.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=False)
    f32.eval()
    with torch.no_grad():
        f32_full = (f32(torch.tensor(ids)).double() - logits).abs().max().item() / scale
        f32_inc = (f32.forward_incremental(torch.tensor(ids)).double() - logits).abs().max().item() / scale
        f32_greedy_same = f32.greedy(ids, N_GREEDY) == greedy
    assert max(f32_full, f32_inc) < 1e-5 and f32_greedy_same, (name, f32_full, f32_inc)

    np.save(os.path.join(case_dir, "logits.npy"), logits.numpy().astype(np.float32))
    with open(os.path.join(case_dir, "ids.json"), "w") as f:
        json.dump({"ids": ids}, f)
        f.write("\n")
    with open(os.path.join(case_dir, "greedy.json"), "w") as f:
        json.dump({"prompt": ids, "tokens": greedy}, f)
        f.write("\n")

    ablations = {}
    for abl, a in zip(spec["ablations"], ablation_logits):
        diff = (a - logits).abs().max().item()
        rel = diff / scale
        assert rel > ABLATION_MIN_REL, f"{name}: ablation {abl['feature']} moves logits only {rel:.3g} relative"
        np.save(os.path.join(case_dir, "ablations", abl["feature"] + ".npy"), a.numpy().astype(np.float32))
        ablations[abl["feature"]] = {"what": abl["what"], "max_abs_diff_vs_golden": diff,
                                     "relative_to_max_abs_golden": rel}
    with open(os.path.join(case_dir, "ablations.json"), "w") as f:
        json.dump(ablations, f, indent=1)
        f.write("\n")

    with torch.no_grad():
        model(torch.tensor(ids))
        counts = {str(k): v.tolist() for k, v in model.expert_counts().items()}
    case = {
        "case": name,
        "covers": spec["what"],
        "layout": spec["layout"],
        "weight_dtype": spec["dtype"],
        "e_score_correction_bias_dtype": spec["bias_dtype"] if cfg.topk_method == "noaux_tc" else None,
        "n_ids": len(ids),
        "max_abs_golden_logit": scale,
        "min_routing_margin_prompt_plus_greedy": routing_margin,
        "min_greedy_top1_top2_gap_relative": g_margin,
        "tokens_per_expert_per_moe_layer_on_ids": counts,
        "self_check": {"absorbed_latent_cache_decode_rel": inc_rel, "per_prefix_recompute_rel": prefix_rel},
        "float32_reference_rel": {"full_sequence": f32_full, "token_by_token_absorbed": f32_inc,
                                  "greedy_identical": f32_greedy_same},
        "generated_by": "tools/make_engine_goldens.py (reference: tools/reference/deepseek_v3.py, float64)",
    }
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    return {"case": name, "attempts": attempt + 1, "ablations": {k: v["relative_to_max_abs_golden"]
                                                                  for k, v in ablations.items()},
            "routing_margin": routing_margin, "greedy_margin": g_margin,
            "float32_rel": max(f32_full, f32_inc)}


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "engine"))
    ap.add_argument("--only", nargs="*", help="case names (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    specs = case_specs()
    names = args.only or list(specs)
    for name in names:
        if name not in specs:
            sys.exit(f"unknown case {name!r}; known: {', '.join(specs)}")
        report = build_case(name, specs[name], args.out)
        print(json.dumps(report))


if __name__ == "__main__":
    main()
