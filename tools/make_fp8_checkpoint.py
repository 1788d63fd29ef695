#!/usr/bin/python3
"""Writes FP8 golden cases tests/data/engine/fp8_<name>/ (see tools/README.md): tiny random
DeepSeek-V3-family checkpoints laid out as the published FP8 DeepSeek-V3/R1 and Kimi-K2 ones,
plus reference logits computed by tools/reference on the DEQUANTIZED weights.

Published layout, reproduced at small size:
  config.json with "quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
      "activation_scheme": "dynamic", "weight_block_size": [128, 128]} and torch_dtype bfloat16;
  every Linear weight of attention, MLPs, experts and eh_proj is float8_e4m3fn ("F8_E4M3") with
      X.weight_scale_inv F32 [ceil(rows/128), ceil(cols/128)] beside it (dequantized weight =
      e4m3 value * the scale of its 128x128 block; edge blocks partial: DeepSeek's
      inference/kernel.py weight_dequant and fp8_cast_bf16.py);
  embed_tokens, lm_head, norms, the router (mlp.gate.weight) and shared_head.head BF16;
      mlp.gate.e_score_correction_bias F32;
  sharded: model-0000N-of-00000M.safetensors (V3's spelling: 5 then 6 digits) and
      model.safetensors.index.json; the MTP layer (model.layers.{num_hidden_layers}) after the main
      layers, in the last shard.
The e4m3 encoder is written here from the OCP 8-bit floating point specification (E4M3: bias 7,
no infinities, S.1111.111 NaN, max 448; round to nearest even, saturating); torch 1.13 has no
float8. Block scales as fp8_cast_bf16.py expects them: scale_inv = amax(block) / 448, q = e4m3(w /
scale_inv).

Usage: /usr/bin/python3 tools/make_fp8_checkpoint.py [--out tests/data/engine] [--only CASE ...]
Deterministic: fixed seeds.
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_engine_goldens as G  # noqa: E402
from reference.deepseek_v3 import DeepseekV3Config, DeepseekV3ForCausalLM  # noqa: E402

BLOCK = 128
E4M3_MAX = 448.0
FP8_CONFIG = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [BLOCK, BLOCK]}


# ------------------------------------------------------------------------------------------------
# E4M3 (OCP OFP8 v1.0)
# ------------------------------------------------------------------------------------------------

def e4m3_table() -> np.ndarray:
    """float64 value of every byte: exponent field 0 subnormal m/8 * 2^-6, else (1 + m/8) * 2^(e-7);
    S.1111.111 NaN."""
    out = np.empty(256)
    for b in range(256):
        s, e, m = b >> 7, (b >> 3) & 15, b & 7
        v = np.nan if (e == 15 and m == 7) else (m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
        out[b] = -v if s else v
    return out


def e4m3_encode(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties to even, magnitudes above 448 saturating to 448."""
    x = np.asarray(x, dtype=np.float64)
    sign = (np.signbit(x)).astype(np.uint8) << 7
    a = np.minimum(np.abs(x), E4M3_MAX)
    # exponent of the binade (normal numbers: 2^-6 .. 2^8), subnormals share the step of 2^-6's binade
    _, e2 = np.frexp(a)  # a = f * 2^e2, f in [0.5, 1)
    e = np.clip(e2 - 1, -6, 8)
    step = np.ldexp(1.0, e - 3)  # 3 mantissa bits
    q = np.round(a / step)  # numpy rounds half to even; exact: a / power of two
    v = q * step  # the rounded magnitude (may reach the next binade: then its code follows)
    normal = v >= 2.0 ** -6
    _, ev = np.frexp(np.where(normal, v, 1.0))
    ev = ev - 1
    mant = np.where(normal, v / np.ldexp(1.0, ev) * 8 - 8, 0)
    code = np.where(normal, ((ev + 7) << 3) + mant, v / 2.0 ** -9).astype(np.int64)
    code = np.minimum(code, 0x7e)
    return (code.astype(np.uint8) | sign).astype(np.uint8)


def check_encoder() -> None:
    """Self-check against the table: every finite byte round-trips, and random values go to a
    nearest neighbour (ties to the even code)."""
    t = e4m3_table()
    finite = [b for b in range(256) if not np.isnan(t[b])]
    assert all(int(e4m3_encode(np.array([t[b]]))[0]) == b or (t[b] == 0 and b == 0x80 and
                                                                 int(e4m3_encode(np.array([-0.0]))[0]) == 0x80)
               for b in finite)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000) * np.exp(rng.uniform(-12, 7, 20000))
    codes = e4m3_encode(x)
    mags = np.array(sorted({abs(t[b]) for b in finite}))
    for xi, c in zip(x, codes):
        a = min(abs(xi), E4M3_MAX)
        best = np.min(np.abs(mags - a))
        assert abs(abs(t[c]) - a) == best, (xi, c)


# ------------------------------------------------------------------------------------------------
# Block quantization (fp8_cast_bf16.py / kernel.py weight_dequant)
# ------------------------------------------------------------------------------------------------

def quantize_blocks(w: np.ndarray):
    rows, cols = w.shape
    br, bc = -(-rows // BLOCK), -(-cols // BLOCK)
    scale = np.zeros((br, bc), dtype=np.float32)
    codes = np.zeros((rows, cols), dtype=np.uint8)
    for i in range(br):
        for j in range(bc):
            blk = w[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK]
            s = np.float32(np.abs(blk).max() / E4M3_MAX)
            scale[i, j] = s
            codes[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = e4m3_encode(blk / np.float64(s))
    return codes, scale


def dequantize_blocks(codes: np.ndarray, scale: np.ndarray, per_row: bool = False) -> np.ndarray:
    """float64, exact (an e4m3 value times an F32 has at most 28 significant bits). per_row: the
    ablation, each row's first-block scale for all its columns."""
    s = np.repeat(np.repeat(scale.astype(np.float64), BLOCK, 0), BLOCK, 1)[:codes.shape[0], :codes.shape[1]]
    if per_row:
        s = np.repeat(s[:, :1], codes.shape[1], 1)
    return e4m3_table()[codes] * s


def is_fp8(name: str, t: torch.Tensor) -> bool:
    return (t.dim() == 2 and name.endswith(".weight") and "embed_tokens" not in name and name != "lm_head.weight"
            and not name.endswith("mlp.gate.weight") and "shared_head.head" not in name)


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------

def raw(t: torch.Tensor):
    """(dtype name, shape, bytes) of a BF16 / F32 tensor."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return "BF16", list(t.shape), t.view(torch.int16).numpy().tobytes()
    return "F32", list(t.shape), t.to(torch.float32).numpy().tobytes()


def save_safetensors(entries: dict, path: str) -> None:
    """name -> (dtype, shape, bytes); ordered as the safetensors library writes them (larger
    elements first, then by name), data 8-byte aligned after the header."""
    size = {"F32": 4, "BF16": 2, "F8_E4M3": 1}
    order = sorted(entries, key=lambda n: (-size[entries[n][0]], n))
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for n in order:
        dt, shape, data = entries[n]
        header[n] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n in order:
            f.write(entries[n][2])


def layer_of(name: str):
    parts = name.split(".")
    return int(parts[2]) if name.startswith("model.layers.") else None


def write_fp8_dir(model_dir: str, config: dict, stored: dict) -> None:
    """stored: name -> (dtype, shape, bytes). Shards in file order: the embedding, one per main
    layer, the final norm and lm_head, then the MTP layer(s) after the main layers, each in two
    shards (attention side, MLP side) as published V3 spreads layer 61 over its last shards."""
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    L = config["num_hidden_layers"]
    mtp = config.get("num_nextn_predict_layers", 0)
    n = 1 + L + 1 + 2 * mtp

    def shard(name):
        layer = layer_of(name)
        if layer is None:
            return 0 if "embed_tokens" in name else L + 1
        if layer < L:
            return 1 + layer
        return L + 2 + 2 * (layer - L) + (".mlp." in name or "shared_head" in name)

    parts = [{} for _ in range(n)]
    for name, e in stored.items():
        parts[shard(name)][name] = e
    weight_map, total = {}, 0
    for i, part in enumerate(parts):
        file = f"model-{i + 1:05d}-of-{n:06d}.safetensors"
        save_safetensors(part, os.path.join(model_dir, file))
        for name, e in part.items():
            weight_map[name] = file
            total += len(e[2])
    with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")


# ------------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------------

def fp8_base(**overrides) -> dict:
    cfg = G.base_config(hidden_size=160, q_lora_rank=136, kv_lora_rank=136, num_attention_heads=2,
                        num_key_value_heads=2, qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
                        intermediate_size=64, moe_intermediate_size=16, torch_dtype="bfloat16")
    cfg.update(overrides)
    cfg["quantization_config"] = FP8_CONFIG
    return cfg


def case_specs() -> dict:
    per_row = {"feature": "fp8_scale_per_row", "what": "each row's first block scale applied to all its columns "
               "instead of one scale per 128x128 block"}
    specs = {}
    specs["fp8_v3"] = dict(
        config=fp8_base(num_hidden_layers=4, first_k_dense_replace=3, num_nextn_predict_layers=1,
                        n_routed_experts=8, num_experts_per_tok=2, n_group=4, topk_group=2),
        n_ids=24, seed=21, gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="DeepSeek-V3/R1 as published in FP8, at small size: hidden 160 and q/kv latents 136 (every "
             "matrix with a partial 128x128 edge block), kv_b_proj per-head slices at row 64 (inside a "
             "block), 4 layers with first_k_dense_replace 3, 8 experts top-2, n_group 4 / topk_group 2, "
             "one MTP layer (model.layers.4, FP8, in the last shard); BF16 embedding, head, norms and "
             "router, F32 e_score_correction_bias; 8 shards + index (the MTP layer in the last two).",
        ablations=[per_row, G.COMMON_ABLATIONS[0], G.V3_GATE_ABLATIONS[0]])
    specs["fp8_kimi_k2"] = dict(
        config=fp8_base(model_type="kimi_k2", num_hidden_layers=2, first_k_dense_replace=1,
                        n_routed_experts=16, num_experts_per_tok=4, moe_intermediate_size=8, n_group=1,
                        topk_group=1, routed_scaling_factor=2.827, max_position_embeddings=96,
                        rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 24,
                                      "beta_fast": 1.0, "beta_slow": 1.0, "mscale": 1.0, "mscale_all_dim": 1.0},
                        rope_theta=50000.0),
        n_ids=24, seed=22, gate_gain=3.0, bias_range=(-0.3, 0.3),
        what="Kimi-K2 as published (model_type kimi_k2, FP8, the V3 architecture) at small size: 16 experts "
             "top-4 without groups (n_group 1), routed_scaling_factor 2.827, first_k_dense_replace 1, YaRN "
             "with beta_fast = beta_slow = mscale = mscale_all_dim = 1 as in its config, no MTP layer; "
             "4 shards + index.",
        ablations=[per_row, G.COMMON_ABLATIONS[0], G.ablation("routed_scaling_off", "routed_scaling_factor taken as 1.0",
                                                              cfg={"routed_scaling_factor": 1.0})])
    return specs


def build_case(name: str, spec: dict, out_root: str) -> dict:
    cfg = DeepseekV3Config.from_dict(spec["config"])
    mtp = cfg.num_nextn_predict_layers > 0
    torch.manual_seed(spec["seed"])
    init = DeepseekV3ForCausalLM(cfg, mtp=mtp, mtp_share_head=False).double()
    G.init_weights(init, spec["seed"], spec["gate_gain"], spec["bias_range"])

    stored, deq, deq_row = {}, {}, {}
    for n, t in init.state_dict().items():
        if is_fp8(n, t):
            codes, scale = quantize_blocks(t.numpy())
            stored[n] = ("F8_E4M3", list(codes.shape), codes.tobytes())
            stored[n + "_scale_inv"] = ("F32", list(scale.shape), scale.tobytes())
            deq[n] = torch.from_numpy(dequantize_blocks(codes, scale))
            deq_row[n] = torch.from_numpy(dequantize_blocks(codes, scale, per_row=True))
        else:
            s = t.to(torch.float32) if n.endswith("e_score_correction_bias") else t.to(torch.bfloat16)
            stored[n] = raw(s)
            deq[n] = deq_row[n] = s.to(torch.float64)
    main = {k: v for k, v in deq.items() if layer_of(k) is None or layer_of(k) < cfg.num_hidden_layers}
    main_row = {k: v for k, v in deq_row.items() if k in main}
    model = G.reference_model(cfg, main)

    def ablated(abl):
        if abl["feature"] == "fp8_scale_per_row":
            return G.reference_model(cfg, main_row)
        return G.ablated_model(cfg, main, abl)

    ablated_models = [ablated(a) for a in spec["ablations"]]
    g = torch.Generator().manual_seed(1000 + spec["seed"])
    for attempt in range(200):
        ids = torch.randint(2, cfg.vocab_size, (spec["n_ids"],), generator=g).tolist()
        with torch.no_grad():
            greedy = model.greedy(ids, G.N_GREEDY)
            full = model(torch.tensor(ids + greedy))
            routing_margin = model.routing_margin()
            g_margin = G.greedy_margin(full, len(ids) - 1)
            if routing_margin < G.ROUTING_MIN_MARGIN or g_margin < G.GREEDY_MIN_MARGIN_REL:
                continue
            logits = model(torch.tensor(ids))
            scale = logits.abs().max().item()
            ablation_logits = [a(torch.tensor(ids)) for a in ablated_models]
            if all((a - logits).abs().max().item() / scale > G.ABLATION_MIN_REL for a in ablation_logits):
                break
    else:
        raise RuntimeError(f"{name}: no input ids without near-ties on which every ablation matters")
    with torch.no_grad():
        inc = model.forward_incremental(torch.tensor(ids))
    inc_rel = (inc - logits).abs().max().item() / scale
    assert inc_rel < 1e-12, (name, inc_rel)

    case_dir = os.path.join(out_root, name)
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(os.path.join(case_dir, "ablations"))
    write_fp8_dir(os.path.join(case_dir, "model"), spec["config"], stored)
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
        np.save(os.path.join(case_dir, "ablations", abl["feature"] + ".npy"), a.numpy().astype(np.float32))
        ablations[abl["feature"]] = {"what": abl["what"], "max_abs_diff_vs_golden": diff,
                                     "relative_to_max_abs_golden": diff / scale}
    with open(os.path.join(case_dir, "ablations.json"), "w") as f:
        json.dump(ablations, f, indent=1)
        f.write("\n")
    fp8_names = [n for n, e in stored.items() if e[0] == "F8_E4M3"]
    case = {
        "case": name, "covers": spec["what"], "layout": "hf_sharded_fp8", "weight_dtype": "F8_E4M3+BF16",
        "fp8_matrices": len(fp8_names), "n_ids": len(ids), "max_abs_golden_logit": scale,
        "min_routing_margin_prompt_plus_greedy": routing_margin, "min_greedy_top1_top2_gap_relative": g_margin,
        "self_check": {"absorbed_latent_cache_decode_rel": inc_rel},
        "generated_by": "tools/make_fp8_checkpoint.py (reference: tools/reference/deepseek_v3.py, float64, "
                        "on the dequantized FP8 weights)",
    }
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    return {"case": name, "attempts": attempt + 1, "fp8_matrices": len(fp8_names),
            "ablations": {k: v["relative_to_max_abs_golden"] for k, v in ablations.items()},
            "bytes": sum(len(e[2]) for e in stored.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "data", "engine"))
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    torch.set_num_threads(1)
    check_encoder()
    specs = case_specs()
    for name in args.only or list(specs):
        if name not in specs:
            sys.exit(f"unknown case {name!r}; known: {', '.join(specs)}")
        print(json.dumps(build_case(name, specs[name], args.out)))


if __name__ == "__main__":
    main()
