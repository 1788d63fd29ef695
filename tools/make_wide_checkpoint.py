#!/usr/bin/python3
"""Writes a random-weight checkpoint at real widths (DeepSeek-V2-Lite by default: hidden 2048,
16 heads, kv_lora 512, nope/rope/v 128/64/128, 64 routed experts of 1408 (top-6) + 2 shared,
vocab 102400, sigmoid routing) with a chosen layer count, for benchmarks at the scale people run.

BF16 tensors go to OUT_DIR/model.safetensors one at a time: the header (every offset) first, then
each tensor generated and written, so the model is never whole in memory (a 6-layer model is
~7 GB on disk, ~0.4 GB of RAM to write). Values N(0, 0.02), norms 1, e_score_correction_bias
small F32. Deterministic for a given seed (each tensor has its own generator).

With --gguf FILE it also writes the same weights (read back from the safetensors file through a
memory map) as a llama.cpp `deepseek2` GGUF in BF16 (1-D tensors in F32): kv_b split into attn_k_b (transposed) and
attn_v_b, experts stacked, tokenizer metadata copied from llama.cpp's DeepSeek-LLM vocab file
(102400 tokens, the V2 tokenizer). Then quantize with `llama-quantize --pure F Q4_0`.
llama.cpp treats a deepseek2 file without q_lora as V2-Lite only at 26 or 27 layers, so keep
q_lora for the GGUF of a short model.

With --v3-attention it writes DeepSeek-V3's attention instead (hidden 7168, 128 heads, q_lora
1536, kv_lora 512, nope/rope/v 128/64/128, V3's YaRN: factor 40 on 4096 positions, mscale 1/1)
with V3's expert width (2048, one shared) but few experts and a small vocabulary (--experts 4,
top-2, --vocab 8192): the latent cache and the attention are V3's, the rest is cut to fit in RAM
(2 layers: ~1.6 GB). Used for the latent-cache accuracy of docs/benchmarks.md.

Usage: /usr/bin/python3 tools/make_wide_checkpoint.py OUT_DIR [--layers 6] [--dense-layers 1]
           [--no-q-lora] [--q-lora-rank 1536] [--seed 0] [--mtp] [--gguf FILE --llama-cpp DIR]
           [--v3-attention [--experts 4] [--vocab 8192]]
Not committed (too large). The HF directory has no tokenizer: `dschat bench` needs none.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

WIDE_SHAPE = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "vocab_size": 102400,
    "hidden_size": 2048,
    "intermediate_size": 10944,
    "moe_intermediate_size": 1408,
    "num_hidden_layers": 6,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "n_shared_experts": 2,
    "n_routed_experts": 64,
    "routed_scaling_factor": 1.0,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "qk_nope_head_dim": 128,
    "n_group": 1,
    "topk_group": 1,
    "num_experts_per_tok": 6,
    "first_k_dense_replace": 1,
    "moe_layer_freq": 1,
    "norm_topk_prob": True,
    "scoring_func": "sigmoid",
    "topk_method": "noaux_tc",
    "hidden_act": "silu",
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "num_nextn_predict_layers": 0,
    "bos_token_id": 100000,
    "eos_token_id": 100001,
    "torch_dtype": "bfloat16",
}

# DeepSeek-V3's config.json for everything the attention and the latent cache see; the dense
# width and the expert count are --v3-attention's reductions (V3: 18432, 256 experts, top-8).
V3_ATTENTION = {
    "hidden_size": 7168,
    "intermediate_size": 2048,
    "moe_intermediate_size": 2048,
    "num_attention_heads": 128,
    "num_key_value_heads": 128,
    "n_shared_experts": 1,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "routed_scaling_factor": 2.5,
    "kv_lora_rank": 512,
    "q_lora_rank": 1536,
    "qk_rope_head_dim": 64,
    "v_head_dim": 128,
    "qk_nope_head_dim": 128,
    "vocab_size": 8192,
    "max_position_embeddings": 163840,
    "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
                     "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "bos_token_id": 0,
    "eos_token_id": 1,
}


def tensor_plan(c: dict) -> list:
    """(HF name, shape, dtype 'BF16'|'F32', kind) in file order; kind picks the values."""
    h, heads = c["hidden_size"], c["num_attention_heads"]
    nope, rope, v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    kv, ql = c["kv_lora_rank"], c["q_lora_rank"]
    plan = [("model.embed_tokens.weight", (c["vocab_size"], h), "BF16", "w")]
    layers = c["num_hidden_layers"] + c.get("num_nextn_predict_layers", 0)
    for i in range(layers):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        if i >= c["num_hidden_layers"]:  # an MTP module (official layout; embedding and head shared)
            plan += [(p + "enorm.weight", (h,), "BF16", "norm"), (p + "hnorm.weight", (h,), "BF16", "norm"),
                     (p + "eh_proj.weight", (h, 2 * h), "BF16", "w"),
                     (p + "shared_head.norm.weight", (h,), "BF16", "norm")]
        plan.append((p + "input_layernorm.weight", (h,), "BF16", "norm"))
        if ql:
            plan += [(a + "q_a_proj.weight", (ql, h), "BF16", "w"),
                     (a + "q_a_layernorm.weight", (ql,), "BF16", "norm"),
                     (a + "q_b_proj.weight", (heads * (nope + rope), ql), "BF16", "w")]
        else:
            plan.append((a + "q_proj.weight", (heads * (nope + rope), h), "BF16", "w"))
        plan += [(a + "kv_a_proj_with_mqa.weight", (kv + rope, h), "BF16", "w"),
                 (a + "kv_a_layernorm.weight", (kv,), "BF16", "norm"),
                 (a + "kv_b_proj.weight", (heads * (nope + v), kv), "BF16", "w"),
                 (a + "o_proj.weight", (h, heads * v), "BF16", "w"),
                 (p + "post_attention_layernorm.weight", (h,), "BF16", "norm")]
        m = p + "mlp."
        if i < c["first_k_dense_replace"]:
            f = c["intermediate_size"]
            plan += [(m + "gate_proj.weight", (f, h), "BF16", "w"), (m + "up_proj.weight", (f, h), "BF16", "w"),
                     (m + "down_proj.weight", (h, f), "BF16", "w")]
            continue
        f, e = c["moe_intermediate_size"], c["n_routed_experts"]
        plan += [(m + "gate.weight", (e, h), "BF16", "w"), (m + "gate.e_score_correction_bias", (e,), "F32", "bias")]
        for x in range(e):
            plan += [(m + f"experts.{x}.gate_proj.weight", (f, h), "BF16", "w"),
                     (m + f"experts.{x}.up_proj.weight", (f, h), "BF16", "w"),
                     (m + f"experts.{x}.down_proj.weight", (h, f), "BF16", "w")]
        fs = f * c["n_shared_experts"]
        plan += [(m + "shared_experts.gate_proj.weight", (fs, h), "BF16", "w"),
                 (m + "shared_experts.up_proj.weight", (fs, h), "BF16", "w"),
                 (m + "shared_experts.down_proj.weight", (h, fs), "BF16", "w")]
    plan += [("model.norm.weight", (h,), "BF16", "norm"), ("lm_head.weight", (c["vocab_size"], h), "BF16", "w")]
    return plan


def make_tensor(index: int, seed: int, shape: tuple, dtype: str, kind: str) -> bytes:
    if kind == "norm":
        t = torch.ones(shape)
    else:
        g = torch.Generator().manual_seed(seed * 1_000_003 + index)
        t = torch.randn(shape, generator=g)
        t.mul_(0.02 if kind == "w" else 0.05)
    if dtype == "F32":
        return t.numpy().astype("<f4").tobytes()
    return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()


def write_safetensors(path: str, plan: list, seed: int) -> None:
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, dtype, _ in plan:
        size = int(np.prod(shape)) * (2 if dtype == "BF16" else 4)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    t0 = time.time()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for i, (name, shape, dtype, kind) in enumerate(plan):
            f.write(make_tensor(i, seed, shape, dtype, kind))
            if i % 50 == 0:
                print(f"  {i}/{len(plan)} {name} ({time.time() - t0:.0f} s)", file=sys.stderr)


def safetensors_views(path: str) -> dict:
    """name -> numpy view (uint16 for BF16, float32) into a memory map of the file."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = np.uint16 if info["dtype"] == "BF16" else np.float32
        out[name] = mm[8 + n + b:8 + n + e].view(dt).reshape(info["shape"])
    return out


def write_gguf(path: str, c: dict, st_path: str, llama_cpp: str) -> None:
    sys.path.insert(0, os.path.join(llama_cpp, "gguf-py"))
    import gguf  # noqa: E402

    src = safetensors_views(st_path)
    L, E = c["num_hidden_layers"], c["n_routed_experts"]
    heads, nope, v, kv = c["num_attention_heads"], c["qk_nope_head_dim"], c["v_head_dim"], c["kv_lora_rank"]

    def tensors():
        """(GGUF name, callable -> numpy array) in file order; arrays are made when written."""
        yield "token_embd.weight", lambda: src["model.embed_tokens.weight"]
        yield "output_norm.weight", lambda: src["model.norm.weight"]
        yield "output.weight", lambda: src["lm_head.weight"]
        for i in range(L):
            p, b = f"model.layers.{i}.", f"blk.{i}."
            a = p + "self_attn."
            yield b + "attn_norm.weight", lambda a=p: src[a + "input_layernorm.weight"]
            if c["q_lora_rank"]:
                yield b + "attn_q_a.weight", lambda a=a: src[a + "q_a_proj.weight"]
                yield b + "attn_q_a_norm.weight", lambda a=a: src[a + "q_a_layernorm.weight"]
                yield b + "attn_q_b.weight", lambda a=a: src[a + "q_b_proj.weight"]
            else:
                yield b + "attn_q.weight", lambda a=a: src[a + "q_proj.weight"]
            yield b + "attn_kv_a_mqa.weight", lambda a=a: src[a + "kv_a_proj_with_mqa.weight"]
            yield b + "attn_kv_a_norm.weight", lambda a=a: src[a + "kv_a_layernorm.weight"]
            # kv_b [heads*(nope+v), kv] -> k_b [heads, kv, nope] (transposed), v_b [heads, v, kv]
            kvb = lambda a=a: src[a + "kv_b_proj.weight"].reshape(heads, nope + v, kv)  # noqa: E731
            yield b + "attn_k_b.weight", lambda kvb=kvb: np.ascontiguousarray(kvb()[:, :nope, :].transpose(0, 2, 1))
            yield b + "attn_v_b.weight", lambda kvb=kvb: np.ascontiguousarray(kvb()[:, nope:, :])
            yield b + "attn_output.weight", lambda a=a: src[a + "o_proj.weight"]
            yield b + "ffn_norm.weight", lambda p=p: src[p + "post_attention_layernorm.weight"]
            m = p + "mlp."
            if i < c["first_k_dense_replace"]:
                for g, hf in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"), ("ffn_down", "down_proj")):
                    yield b + g + ".weight", lambda m=m, hf=hf: src[m + hf + ".weight"]
                continue
            yield b + "ffn_gate_inp.weight", lambda m=m: src[m + "gate.weight"]
            yield b + "exp_probs_b.bias", lambda m=m: src[m + "gate.e_score_correction_bias"]
            for g, hf in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"), ("ffn_down", "down_proj")):
                yield b + g + "_exps.weight", lambda m=m, hf=hf: np.stack(
                    [src[m + f"experts.{x}.{hf}.weight"] for x in range(E)])
                yield b + g + "_shexp.weight", lambda m=m, hf=hf: src[m + f"shared_experts.{hf}.weight"]

    w = gguf.GGUFWriter(path, "deepseek2")
    w.add_block_count(L)
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(1)  # MLA as MQA over the latent
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    w.add_expert_used_count(c["num_experts_per_tok"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_leading_dense_block_count(c["first_k_dense_replace"])
    w.add_vocab_size(c["vocab_size"])
    if c["q_lora_rank"]:
        w.add_q_lora_rank(c["q_lora_rank"])
    w.add_kv_lora_rank(kv)
    w.add_key_length(kv + c["qk_rope_head_dim"])
    w.add_value_length(kv)
    w.add_key_length_mla(nope + c["qk_rope_head_dim"])
    w.add_value_length_mla(v)
    w.add_expert_feed_forward_length(c["moe_intermediate_size"])
    w.add_expert_count(E)
    w.add_expert_shared_count(c["n_shared_experts"])
    w.add_expert_weights_scale(c["routed_scaling_factor"])
    w.add_expert_weights_norm(c["norm_topk_prob"])
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    w.add_rope_dimension_count(c["qk_rope_head_dim"])
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    vocab = gguf.GGUFReader(os.path.join(llama_cpp, "models", "ggml-vocab-deepseek-llm.gguf"))
    for key, field in vocab.fields.items():
        if not key.startswith("tokenizer."):
            continue
        value = field.contents()
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            w.add_key_value(key, value, field.types[0], sub_type=field.types[-1])
        else:
            w.add_key_value(key, value, field.types[0])

    def as_written(a: np.ndarray) -> np.ndarray:
        """1-D tensors (norms, the router bias) as F32, as llama.cpp's converter writes them (its
        CPU ops take no BF16 operand there, and llama-quantize keeps 1-D tensors as they are)."""
        if a.ndim == 1 and a.dtype == np.uint16:
            return (a.astype(np.uint32) << 16).view(np.float32)
        return a

    plan = [(name, lambda make=make: as_written(make())) for name, make in tensors()]
    for name, make in plan:  # shapes only: the views are lazy
        a = make() if not name.endswith("_exps.weight") else None  # the experts: not stacked here
        if a is None:  # stacked experts: shape without stacking
            one = src[name_to_first_expert(name, c)]
            shape, dt = (E,) + one.shape, one.dtype
        else:
            shape, dt = a.shape, a.dtype
        nbytes = int(np.prod(shape)) * np.dtype(dt).itemsize
        if dt == np.uint16:  # BF16 bits: byte shape, last dim doubled
            w.add_tensor_info(name, shape[:-1] + (shape[-1] * 2,), np.dtype(np.uint8), nbytes,
                              raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    t0 = time.time()
    for i, (name, make) in enumerate(plan):
        a = np.ascontiguousarray(make())
        w.write_tensor_data(a.view(np.uint8) if a.dtype == np.uint16 else a)
        if i % 20 == 0:
            print(f"  gguf {i}/{len(plan)} {name} ({time.time() - t0:.0f} s)", file=sys.stderr)
    w.close()


def name_to_first_expert(gguf_name: str, c: dict) -> str:
    layer = int(gguf_name.split(".")[1])
    hf = {"ffn_gate_exps": "gate_proj", "ffn_up_exps": "up_proj", "ffn_down_exps": "down_proj"}[gguf_name.split(".")[2]]
    return f"model.layers.{layer}.mlp.experts.0.{hf}.weight"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--dense-layers", type=int, default=1, help="leading dense layers (first_k_dense_replace)")
    ap.add_argument("--q-lora-rank", type=int, default=1536)
    ap.add_argument("--no-q-lora", action="store_true", help="q_proj instead of q_a/q_b (V2-Lite proper)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gguf", help="also write this llama.cpp GGUF (BF16) of the same weights")
    ap.add_argument("--llama-cpp", default="/work/llama.cpp", help="llama.cpp checkout (gguf-py, vocab file)")
    ap.add_argument("--mtp", action="store_true",
                    help="add one MTP module after the main layers (random: for the cost side of speculation)")
    ap.add_argument("--skip-safetensors", action="store_true", help="reuse OUT_DIR/model.safetensors")
    ap.add_argument("--v3-attention", action="store_true", help="DeepSeek-V3's attention widths (see above)")
    ap.add_argument("--experts", type=int, default=4, help="routed experts with --v3-attention")
    ap.add_argument("--vocab", type=int, default=8192, help="vocabulary with --v3-attention")
    args = ap.parse_args()

    config = dict(WIDE_SHAPE, num_hidden_layers=args.layers, first_k_dense_replace=args.dense_layers,
                  q_lora_rank=None if args.no_q_lora else args.q_lora_rank,
                  num_nextn_predict_layers=1 if args.mtp else 0)
    if args.v3_attention:
        config.update(V3_ATTENTION, n_routed_experts=args.experts, vocab_size=args.vocab,
                      q_lora_rank=None if args.no_q_lora else args.q_lora_rank)
    plan = tensor_plan(config)
    os.makedirs(args.out_dir, exist_ok=True)
    st = os.path.join(args.out_dir, "model.safetensors")
    t0 = time.time()
    if not args.skip_safetensors:
        with open(os.path.join(args.out_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        write_safetensors(st, plan, args.seed)
    n_params = sum(int(np.prod(s)) for _, s, _, _ in plan)
    print(json.dumps({"out_dir": args.out_dir, "parameters": n_params, "bytes": os.path.getsize(st),
                      "seconds": round(time.time() - t0, 1)}))
    if args.gguf:
        t1 = time.time()
        write_gguf(args.gguf, config, st, args.llama_cpp)
        print(json.dumps({"gguf": args.gguf, "bytes": os.path.getsize(args.gguf),
                          "seconds": round(time.time() - t1, 1)}))


if __name__ == "__main__":
    main()
