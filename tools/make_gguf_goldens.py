#!/usr/bin/python3
"""Writes tests/data/gguf/: small random deepseek2 models made into GGUF files by llama.cpp itself,
with reference logits (<case>.<type>.logits.npy, <case>.case.json) and the Hugging Face tokenizer
they were converted from (tokenizer/), for tests/engine/deepseek/gguf_model_test.cpp and
tests/app/backend/gguf_tokenizer_test.cpp.

For each case (see CASES):
  1. a tiny random DeepSeek-V3-family Hugging Face directory (config.json, model.safetensors in F32,
     tokenizer.json + tokenizer_config.json: a 256-byte-token BPE with a few hundred of DeepSeek-V3's
     merges, DeepSeek-V3's pre-tokenizer and chat template, special tokens, padding ids);
  2. converted by llama.cpp's convert_hf_to_gguf.py (tools/gguf_convert.py: no transformers) to
     F32, F16 and BF16 GGUF files;
  3. the F32 file quantized by llama.cpp's llama-quantize to Q8_0 and Q4_0;
  4. for each GGUF file: its tensors read back and dequantized by gguf-py (GGUFReader +
     gguf.quants.dequantize), mapped back to the Hugging Face layout (experts unstacked, attn_k_b
     transposed back and joined with attn_v_b into kv_b_proj), and run by the float64 reference
     (tools/reference) on fixed ids: logits_<type>.npy. These are the logits of exactly the weights
     in the file, so what a test measures against them is the engine's own error (float32
     arithmetic; activations quantized to Q8_0 by the integer kernels), not the quantization's;
  5. llama.cpp's own greedy continuation of a fixed prompt with each file (llama-completion).

Usage: /usr/bin/python3 tools/make_gguf_goldens.py [--out tests/data/gguf] [--keep-hf DIR]
Needs /work/llama.cpp (LLAMA_CPP) built (build/bin/llama-quantize, llama-completion).
Deterministic but for llama.cpp's own file metadata.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
LLAMA = os.environ.get("LLAMA_CPP", "/work/llama.cpp")
sys.path.insert(1, os.path.join(LLAMA, "gguf-py"))

import gguf  # noqa: E402
from gguf.quants import dequantize  # noqa: E402

from make_engine_goldens import base_config, init_weights, stored_state_dict, reference_model  # noqa: E402
from reference.deepseek_v3 import DeepseekV3Config  # noqa: E402
from reference import checkpoint_io  # noqa: E402

DSV3_TOKENIZER = os.path.join(here, "..", "tests", "data", "tokenizer", "deepseek_v3")
N_MERGES = 100
SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"]
N_PAD = 3  # ids past the tokenizer's: the converter writes them as UNUSED "[PAD<id>]"
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0"]
ROUTING_MIN_MARGIN = 2e-2
PROMPT = "The quick brown fox"  # llama.cpp's greedy continuation of it (BOS first) is recorded
N_GREEDY = 12


def llama_greedy_bytes(path: str) -> str | None:
    """The bytes llama.cpp's llama-completion prints for N_GREEDY greedy tokens after PROMPT, in hex
    (it ends them with a line break of its own)."""
    exe = os.path.join(LLAMA, "build", "bin", "llama-completion")
    if not os.path.exists(exe):
        return None
    # This build of llama-completion sometimes ends early, silently, with status 0 and nothing on
    # stdout: runs until two agree on a non-empty output.
    seen = []
    for _ in range(12):
        r = subprocess.run([exe, "-m", path, "-p", PROMPT, "-n", str(N_GREEDY), "--temp", "0", "-no-cnv", "-t", "1",
                            "-c", "128", "--ignore-eos", "--no-display-prompt"], capture_output=True, timeout=120)
        if r.returncode != 0:
            sys.exit(f"llama-completion failed on {path}:\n{r.stderr.decode(errors='replace')[-2000:]}")
        if r.stdout:
            if r.stdout in seen:
                return r.stdout.hex()
            seen.append(r.stdout)
    sys.exit(f"llama-completion gave no stable output on {path}: {seen}")


def byte_chars() -> list:
    """GPT-2's byte-level alphabet: byte b -> one printable character."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def make_tokenizer(model_dir: str) -> int:
    """tokenizer.json + tokenizer_config.json; returns the vocabulary size the model needs."""
    with open(os.path.join(DSV3_TOKENIZER, "tokenizer.json"), encoding="utf-8") as f:
        dsv3 = json.load(f)
    with open(os.path.join(DSV3_TOKENIZER, "tokenizer_config.json"), encoding="utf-8") as f:
        dsv3_config = json.load(f)
    vocab = {c: i for i, c in enumerate(byte_chars())}
    merges = []
    for m in dsv3["model"]["merges"]:  # DeepSeek-V3's merges in rank order whose parts we have
        a, b = m.split(" ") if isinstance(m, str) else m
        if a in vocab and b in vocab and a + b not in vocab:
            vocab[a + b] = len(vocab)
            merges.append(f"{a} {b}")
            if len(merges) == N_MERGES:
                break
    added = []
    for k, content in enumerate(SPECIALS):
        added.append({"id": len(vocab) + k, "content": content, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": {"type": "Sequence", "normalizers": []}, "pre_tokenizer": dsv3["pre_tokenizer"],
           "post_processor": None, "decoder": dsv3["decoder"],
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                     "vocab": vocab, "merges": merges}}
    with open(os.path.join(model_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": SPECIALS[0], "eos_token": SPECIALS[1],
              "model_max_length": 256, "tokenizer_class": "LlamaTokenizerFast",
              "chat_template": dsv3_config["chat_template"]}
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
    return len(vocab) + len(SPECIALS) + N_PAD


CASES = {
    # DeepSeek-V3 shape: q_lora, sigmoid noaux_tc with e_score_correction_bias, 1 shared expert.
    "v3_qlora": dict(seed=21, overrides=dict(
        hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, n_shared_experts=1, n_routed_experts=4,
        num_experts_per_tok=2, n_group=1, topk_group=1, kv_lora_rank=32, q_lora_rank=32,
        qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32, first_k_dense_replace=1,
        routed_scaling_factor=2.5, norm_topk_prob=True, scoring_func="sigmoid", topk_method="noaux_tc")),
    # YaRN as DeepSeek's configs have it (mscale = mscale_all_dim: the file keeps only the latter,
    # as yarn_log_multiplier = 0.1 * mscale_all_dim); only the Q8_0 file is kept.
    "v3_yarn": dict(seed=23, types=["F32", "Q8_0"], keep=["Q8_0"], overrides=dict(
        hidden_size=64, intermediate_size=64, moe_intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, n_shared_experts=1, n_routed_experts=4,
        num_experts_per_tok=2, n_group=1, topk_group=1, kv_lora_rank=32, q_lora_rank=32,
        qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32, first_k_dense_replace=1,
        routed_scaling_factor=2.5, norm_topk_prob=True, scoring_func="sigmoid", topk_method="noaux_tc",
        rope_theta=500.0, rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                                        "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707})),
    # K-quant mixes as people download them (llama-quantize Q4_K_M, Q6_K): rows of 256 values
    # (hidden, q_lora, kv_lora, moe_intermediate) so the K-quant types apply; narrower rows
    # (attn_k_b's nope, attn_output's heads x v) get llama-quantize's own fallback types.
    "v3_kquant": dict(seed=24, types=["F32", "Q4_K_M", "Q6_K"], keep=["Q4_K_M", "Q6_K"], overrides=dict(
        hidden_size=256, intermediate_size=256, moe_intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, n_shared_experts=1, n_routed_experts=4,
        num_experts_per_tok=2, n_group=1, topk_group=1, kv_lora_rank=256, q_lora_rank=256,
        qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32, first_k_dense_replace=1,
        routed_scaling_factor=2.5, norm_topk_prob=True, scoring_func="sigmoid", topk_method="noaux_tc")),
    # DeepSeek-V2-Lite shape: no q_lora (attn_q), softmax greedy gate, no bias, 2 shared experts, tied
    # embeddings. 27 layers because llama.cpp reads a file without attention.q_lora_rank only for
    # its "lite" layer counts (src/models/deepseek2.cpp); 26 of them dense and narrow to stay small.
    # Only the Q8_0 file is kept (the F32 one is llama-quantize's input).
    "v2_lite_no_qlora": dict(seed=22, types=["F32", "Q8_0"], keep=["Q8_0"], overrides=dict(
        model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"],
        hidden_size=32, intermediate_size=32, moe_intermediate_size=32, num_hidden_layers=27,
        num_attention_heads=2, num_key_value_heads=2, n_shared_experts=2, n_routed_experts=4,
        num_experts_per_tok=2, n_group=1, topk_group=1, kv_lora_rank=32, q_lora_rank=None,
        qk_rope_head_dim=16, qk_nope_head_dim=32, v_head_dim=32, first_k_dense_replace=26,
        routed_scaling_factor=1.0, norm_topk_prob=False, scoring_func="softmax", topk_method="greedy",
        tie_word_embeddings=True)),
}


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def hf_tensors_from_gguf(path: str, cfg: DeepseekV3Config) -> dict:
    """The file's tensors dequantized by gguf-py, under Hugging Face names and layout (float64)."""
    reader = gguf.GGUFReader(path)
    out = {}
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    block = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
             "attn_q": "self_attn.q_proj", "attn_q_a": "self_attn.q_a_proj", "attn_q_a_norm": "self_attn.q_a_layernorm",
             "attn_q_b": "self_attn.q_b_proj", "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
             "attn_kv_a_norm": "self_attn.kv_a_layernorm", "attn_kv_b": "self_attn.kv_b_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "ffn_gate_inp": "mlp.gate", "ffn_gate_shexp": "mlp.shared_experts.gate_proj",
             "ffn_up_shexp": "mlp.shared_experts.up_proj", "ffn_down_shexp": "mlp.shared_experts.down_proj"}
    split = {}
    for t in reader.tensors:
        shape = [int(x) for x in reversed(t.shape.tolist())]  # ggml ne -> row-major
        values = dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float64)
        v = torch.from_numpy(values.copy())
        if t.name in names:
            out[names[t.name]] = v
            continue
        _, layer, rest = t.name.split(".", 2)
        p = f"model.layers.{layer}."
        kind, _, suffix = rest.partition(".")
        if kind == "exp_probs_b":
            out[p + "mlp.gate.e_score_correction_bias"] = v
        elif kind in ("ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"):
            proj = {"ffn_gate_exps": "gate_proj", "ffn_up_exps": "up_proj", "ffn_down_exps": "down_proj"}[kind]
            for e in range(v.shape[0]):
                out[f"{p}mlp.experts.{e}.{proj}.weight"] = v[e].clone()
        elif kind in ("attn_k_b", "attn_v_b"):
            split.setdefault(layer, {})[kind] = v
        else:
            out[p + block[kind] + "." + suffix] = v
    for layer, kv in split.items():  # the converter's split undone: k_b [h, kv_lora, nope] -> [h, nope, kv_lora]
        k = kv["attn_k_b"].transpose(1, 2)
        joined = torch.cat([k, kv["attn_v_b"]], dim=1)  # [h, nope + v, kv_lora]
        out[f"model.layers.{layer}.self_attn.kv_b_proj.weight"] = joined.reshape(-1, joined.shape[-1]).contiguous()
    return out


def tensor_types(path: str) -> dict:
    reader = gguf.GGUFReader(path)
    counts = {}
    for t in reader.tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return counts


def build_case(name: str, spec: dict, out_dir: str, work: str) -> dict:
    hf_dir = os.path.join(work, name + "_hf")
    shutil.rmtree(hf_dir, ignore_errors=True)
    os.makedirs(hf_dir)
    vocab_size = make_tokenizer(hf_dir)
    os.makedirs(os.path.join(out_dir, "tokenizer"), exist_ok=True)  # the same for every case
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(hf_dir, f), os.path.join(out_dir, "tokenizer", f))
    config = base_config(vocab_size=vocab_size, bos_token_id=vocab_size - N_PAD - len(SPECIALS),
                         eos_token_id=vocab_size - N_PAD - len(SPECIALS) + 1, max_position_embeddings=256,
                         **spec["overrides"])
    cfg = DeepseekV3Config.from_dict(config)
    torch.manual_seed(spec["seed"])
    from reference.deepseek_v3 import DeepseekV3ForCausalLM
    init = DeepseekV3ForCausalLM(cfg).double()
    init_weights(init, spec["seed"], 3.0, (-0.3, 0.3))
    tensors = stored_state_dict(init, cfg, "F32", "F32")
    checkpoint_io.write_model_dir(hf_dir, config, tensors, "hf_single")

    types = spec.get("types", TYPES)
    files = {}
    f32 = os.path.join(out_dir, f"{name}.F32.gguf")
    for t in ("F32", "F16", "BF16"):
        if t not in types:
            continue
        path = os.path.join(out_dir, f"{name}.{t}.gguf")
        run([sys.executable, os.path.join(here, "gguf_convert.py"), hf_dir, "--outtype", t.lower(), "--outfile", path])
        files[t] = path
    for t in ("Q8_0", "Q4_0", "Q4_K_M", "Q6_K"):
        if t not in types:
            continue
        path = os.path.join(out_dir, f"{name}.{t}.gguf")
        run([os.path.join(LLAMA, "build", "bin", "llama-quantize"), f32, path, t])
        files[t] = path

    # Ids on which no model of the case routes a token near a top-k tie (an engine error of 1e-3
    # in the router's input must not choose other experts than the reference).
    ref_f32 = reference_model(cfg, {k: v.to(torch.float64) for k, v in tensors.items()})
    models = {t: reference_model(cfg, hf_tensors_from_gguf(path, cfg)) for t, path in files.items()}
    g = torch.Generator().manual_seed(100 + spec["seed"])
    for attempt in range(500):
        ids = torch.randint(0, vocab_size - N_PAD, (16,), generator=g).tolist()
        margins = []
        with torch.no_grad():
            for m in models.values():
                m(torch.tensor(ids))
                margins.append(m.routing_margin())
        if min(margins) > ROUTING_MIN_MARGIN:
            break
    else:
        sys.exit(f"{name}: no ids without routing near-ties")
    report = {"case": name, "ids": ids, "min_routing_margin": min(margins), "files": {}}
    with torch.no_grad():
        hf_logits = ref_f32(torch.tensor(ids))
    for t, path in files.items():
        model = models[t]
        with torch.no_grad():
            logits = model(torch.tensor(ids))
        np.save(os.path.join(out_dir, f"{name}.{t}.logits.npy"), logits.numpy().astype(np.float32))
        scale = logits.abs().max().item()
        entry = {"bytes": os.path.getsize(path), "tensor_types": tensor_types(path),
                 "max_abs_logit": scale,
                 "rel_diff_vs_hf_f32_reference": (logits - hf_logits).abs().max().item() / scale}
        if t == "F32":
            assert entry["rel_diff_vs_hf_f32_reference"] == 0.0, (name, entry)  # the F32 file is the checkpoint
        greedy = llama_greedy_bytes(path)
        if greedy is not None:
            entry["llama_cpp_greedy"] = {"prompt": PROMPT, "n": N_GREEDY, "stdout_hex": greedy,
                                         "command": "llama-completion -p PROMPT -n N --temp 0 -no-cnv -t 1 -c 128 "
                                                    "--ignore-eos --no-display-prompt"}
        report["files"][t] = entry
    for t, path in files.items():
        if t not in spec.get("keep", types):
            os.remove(path)
            os.remove(os.path.join(out_dir, f"{name}.{t}.logits.npy"))
            del report["files"][t]
    with open(os.path.join(out_dir, f"{name}.case.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "gguf"))
    ap.add_argument("--keep-hf", help="directory to keep the Hugging Face directories in")
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="only these cases (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    work = args.keep_hf or tempfile.mkdtemp(prefix="gguf-goldens-")
    os.makedirs(work, exist_ok=True)
    for name, spec in CASES.items():
        if args.case and name not in args.case:
            continue
        r = build_case(name, spec, args.out, work)
        print(json.dumps({"case": name, "files": r["files"]}))
    if not args.keep_hf:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
