#!/usr/bin/python3
"""Builds small random checkpoints of the two from-scratch DeepSeek-V3 variants, saved exactly
as each project saves them, and their golden outputs (notes/golden_contract.md style):

  tests/data/pt/<case>/model.pt      the checkpoint
  tests/data/pt/<case>/ids.json      {"ids": [...]}
  tests/data/pt/<case>/logits.npy    float32 [n_ids, vocab], computed in float64 from the saved weights
  tests/data/pt/<case>/greedy.json   {"prompt": [...], "tokens": [32 ids]} (the project's own generate, argmax)
  tests/data/pt/mayank/greedy_past_window.json   the same past block_size (generate() crops the window)
  tests/data/pt/mayank/mtp_logits.npy + mtp.json  the MTP head (forward_mtp), float32 [n_ids-1, vocab], argmax
  tests/data/pt/<case>/ablations/<feature>.npy + ablations.json
  tests/data/pt/<case>/case.json     what the case covers

Run with Debian's interpreter (torch 1.13):  /usr/bin/python3 tools/pt_variants/make_cases.py
"""
import collections
import copy
import json
import os
import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "era"))
import mayank_model  # noqa: E402
import model as era_model  # noqa: E402  (module name `model`, as in the original project)

ROOT = HERE.parent.parent
OUT = ROOT / "tests" / "data" / "pt"
N_IDS = 40
N_GREEDY = 32


def randomise(module, gen, matrix_std, embed_std):
    """Weights large enough that every feature moves the logits; norms near 1, biases small."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):        # norm weights
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:                                   # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "wte" in name or "wpe" in name or "embed" in name or "lm_head" in name:
                p.copy_(embed_std * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(matrix_std / p.shape[1] ** 0.5 * torch.randn(p.shape, generator=gen))


def save_zip_as(obj, path, stem):
    """torch.save names the archive's top folder after the file stem; the originals were saved as
    best_deepseek_v3.pt / checkpoint_5500.pt, so save under that stem, then rename."""
    tmp = path.parent / f"{stem}.pt"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_goldens(case_dir, model, ids, ablations, greedy, about):
    m64 = copy.deepcopy(model).double().eval()
    idx = torch.tensor(ids)
    with torch.no_grad():
        golden = m64.forward_all(idx).numpy()
        np.save(case_dir / "logits.npy", golden.astype(np.float32))
        (case_dir / "ablations").mkdir(exist_ok=True)
        summary = {}
        for feature, (what, ab) in ablations.items():
            alt = m64.forward_all(idx, ab).numpy()
            np.save(case_dir / "ablations" / f"{feature}.npy", alt.astype(np.float32))
            summary[feature] = {"what": what, "max_abs_diff_vs_golden": float(np.abs(alt - golden).max()),
                                "max_abs_golden": float(np.abs(golden).max())}
        tokens = greedy(m64, ids)
    (case_dir / "ablations.json").write_text(json.dumps(summary, indent=1) + "\n")
    (case_dir / "ids.json").write_text(json.dumps({"ids": ids}) + "\n")
    (case_dir / "greedy.json").write_text(json.dumps({"prompt": ids, "tokens": tokens}) + "\n")
    (case_dir / "case.json").write_text(json.dumps(about, indent=1) + "\n")


def make_mayank(case_dir):
    gen = torch.Generator().manual_seed(8001)
    cfg = mayank_model.MayankConfig()
    model = mayank_model.MayankModel(cfg)
    randomise(model, gen, matrix_std=1.0, embed_std=0.5)
    with torch.no_grad():
        for block in list(model.h) + [h for h in model.mtp_heads]:
            block.mlp.expert_bias.copy_(0.3 * torch.randn(cfg.n_experts, generator=gen))
            # A small latent (rms ~ 0.01), as after training, so where eps sits in RMSNorm shows.
            block.attn.kv_proj.weight.mul_(0.01)
    assert model.wte.weight is model.lm_head.weight
    save_zip_as(model.state_dict(), case_dir / "model.pt", "best_deepseek_v3")
    ids = torch.randint(0, cfg.vocab_size, (N_IDS,), generator=gen).tolist()
    A = mayank_model.Ablation
    ablations = {
        "no_wpe": ("learned position embeddings wpe not added", A(no_wpe=True)),
        "eps_inside_sqrt": ("RMSNorm x*rsqrt(mean(x^2)+eps) instead of x/(rms+eps)", A(eps_inside_sqrt=True)),
        "interleaved_rope": ("RoPE pairs (2i,2i+1) instead of rotate-half (i,i+16)", A(interleaved_rope=True)),
        "shared_k_rope_head0": ("head 0's rotary key used by every head", A(shared_k_rope_head0=True)),
        "no_biases": ("o_proj and SwiGLU biases dropped", A(no_biases=True)),
        "unbiased_weights": ("expert weights = softmax of the unbiased top-2 logits", A(unbiased_weights=True)),
    }
    about = {
        "variant": "Mayankpratapsingh022/DeepSeek-from-Scratch",
        "saved_as": "torch.save(model.state_dict(), 'best_deepseek_v3.pt'), renamed model.pt",
        "config": cfg.__dict__,
        "main_parameters": sum(p.numel() for n, p in model.named_parameters() if not n.startswith("mtp_heads.")),
        "covers": ["raw state dict", "tied wte/lm_head (one storage, two keys)", "wpe", "per-head k_rope from x",
                   "q_rope from c_q", "rotate-half RoPE", "scale 1/sqrt(head_dim+rope_dim)",
                   "RMSNorm w*x/(rms+eps) eps 1e-6", "biased SwiGLU experts and shared expert",
                   "top-2 of router(x)+expert_bias, softmax over the two biased logits", "o_proj bias",
                   "causal_mask and inv_freq buffers", "mtp_heads: forward_mtp goldens (mtp_logits.npy)"],
        "greedy": "the original generate() with argmax, window cropped to block_size",
    }
    write_goldens(case_dir, model, ids, ablations, lambda m, p: m.generate_greedy(p, N_GREEDY), about)
    # The MTP head (mtp_heads.0): its logits for every position, float64, and their argmax.
    with torch.no_grad():
        mtp = copy.deepcopy(model).double().eval().forward_mtp(torch.tensor(ids)).numpy()
    np.save(case_dir / "mtp_logits.npy", mtp.astype(np.float32))
    (case_dir / "mtp.json").write_text(json.dumps({"argmax": [int(a) for a in mtp.argmax(-1)]}) + "\n")
    # Past the window: an 80-token prompt and 40 greedy tokens cross block_size (96) after 16, from
    # where generate() runs the last 96 tokens again from position 0 each step.
    prompt = (ids * 3)[:80]
    with torch.no_grad():
        tokens = copy.deepcopy(model).double().eval().generate_greedy(prompt, 40)
    (case_dir / "greedy_past_window.json").write_text(json.dumps({"prompt": prompt, "tokens": tokens}) + "\n")


def make_era(case_dir):
    gen = torch.Generator().manual_seed(8002)
    # The same 13 keyword arguments the original passes (app.py), scaled down.
    cfg = era_model.DeepSeekV3Config(
        vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, kv_lora_rank=32,
        moe_intermediate_size=32, n_shared_experts=1, n_routed_experts=4, num_experts_per_tok=2,
        max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True)
    assert "qk_rope_head_dim" not in cfg.__dict__
    model = era_model.DeepSeekV3ForCausalLM(cfg)
    randomise(model, gen, matrix_std=1.0, embed_std=0.5)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    # One AdamW step on random gradients so the optimizer state holds tensors, like a real run.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = 1e-2 * torch.randn(p.shape, generator=gen)
    opt.step()
    total_params = sum(p.numel() for p in model.parameters())
    save_zip_as({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(),
                 "config": cfg, "total_params": total_params, "global_step": 5500},
                case_dir / "model.pt", "checkpoint_5500")
    ids = torch.randint(0, cfg.vocab_size, (N_IDS,), generator=gen).tolist()
    A = era_model.Ablation
    ablations = {
        "interleaved_rope": ("RoPE pairs (2i,2i+1) instead of HF-Llama rotate-half", A(interleaved_rope=True)),
        "no_renormalise": ("top-2 softmax probabilities not renormalised", A(no_renormalise=True)),
        "nope_only_scale": ("softmax scale 1/sqrt(qk_nope) instead of 1/sqrt(qk_nope+qk_rope)",
                            A(nope_only_scale=True)),
    }
    about = {
        "variant": "pmgarg/ERA_V4_Sessio15",
        "saved_as": "torch.save({model_state_dict, optimizer_state_dict (AdamW), config, total_params, "
                    "global_step}, 'checkpoint_5500.pt'), renamed model.pt",
        "config_object_fields": sorted(cfg.__dict__.keys()),
        "config_object": {k: v for k, v in cfg.__dict__.items() if k != "_extra"},
        "class_defaults_used": {"q_lora_rank": 0, "qk_rope_head_dim": 64, "qk_nope_head_dim": 64,
                                "v_head_dim": 64, "hidden_act": "silu"},
        "covers": ["checkpoint dict with model_state_dict", "pickled model.DeepSeekV3Config object",
                   "tied embeddings", "full-rank q_proj", "kv_down_proj -> kv_norm -> kv_up_proj per-head [nope|rope]",
                   "kv_v_proj", "rotate-half RoPE cat(freqs,freqs)", "scale 1/sqrt(128)", "eps 1e-5",
                   "Linear-SiLU-Linear experts", "softmax over all experts, top-2 renormalised", "shared expert weight 1"],
        "greedy": "the original generate() with argmax (full recompute, no crop)",
    }
    write_goldens(case_dir, model, ids, ablations, lambda m, p: m.generate_greedy(p, N_GREEDY), about)


def write_manifest(case_dir):
    """manifest.json: what Python's zipfile and torch.load see in model.pt, for the C++ reader tests:
    every zip entry (name, size, crc32) and every state-dict tensor (dtype, shape, stride, offset,
    which other keys share its storage, float64 sum of its values as viewed, first value)."""
    import zipfile
    path = case_dir / "model.pt"
    with zipfile.ZipFile(path) as z:
        entries = [{"name": i.filename, "size": i.file_size, "crc32": i.CRC} for i in z.infolist()]
    obj = torch.load(path, map_location="cpu")
    sd = obj["model_state_dict"] if "model_state_dict" in obj else obj
    by_storage = {}
    for name, t in sd.items():
        by_storage.setdefault(t.storage().data_ptr(), []).append(name)
    tensors = []
    for name, t in sd.items():
        tensors.append({"name": name, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                        "stride": list(t.stride()), "storage_offset": t.storage_offset(),
                        "shares_storage_with": [n for n in by_storage[t.storage().data_ptr()] if n != name],
                        "sum": float(t.double().sum()) if t.numel() else 0.0,
                        "first": float(t.flatten()[0].double()) if t.numel() else None})
    (case_dir / "manifest.json").write_text(json.dumps({"entries": entries, "tensors": tensors}, indent=0) + "\n")


def make_views(case_dir):
    """Tensors that are views (transposed, sliced, sharing a storage) and other dtypes."""
    gen = torch.Generator().manual_seed(8003)
    base = torch.randn(6, 5, generator=gen)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["transposed"] = base.t()                      # strides (1, 5)
    sd["rows_2_to_4"] = base[2:4]                    # storage offset 10
    sd["column_3"] = base[:, 3]                      # stride (5,), offset 3
    sd["every_other"] = base[::2, 1::2]              # strides (10, 2), offset 1
    sd["half"] = torch.randn(3, 4, generator=gen).half()
    sd["bfloat16"] = torch.randn(7, generator=gen).bfloat16()
    sd["double"] = torch.randn(2, 2, generator=gen).double()
    sd["int64"] = torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4)
    sd["int32"] = torch.arange(5, dtype=torch.int32) * 1000
    sd["uint8"] = torch.arange(250, 256, dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 4)
    torch.save(sd, case_dir / "model.pt")


def main():
    torch.set_num_threads(1)
    for name, make in (("mayank", make_mayank), ("era", make_era), ("views", make_views)):
        case_dir = OUT / name
        case_dir.mkdir(parents=True, exist_ok=True)
        make(case_dir)
        write_manifest(case_dir)
        print(f"wrote {case_dir}")


if __name__ == "__main__":
    main()
