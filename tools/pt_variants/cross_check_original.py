#!/usr/bin/python3
"""Cross-checks dschat against the ORIGINAL code of both projects (not our references): builds
random models with each project's own modules, saves them exactly as each project does, runs
the project's own forward pass (in float64), and compares with `dschat logits` on the saved file
(full sequence and --incremental). Nothing of the projects is copied here; point the script at
your own checkouts:

  /usr/bin/python3 tools/pt_variants/cross_check_original.py --dschat build/dschat \\
      --mayank ~/src/DeepSeek-from-Scratch --era ~/src/ERA_V4_Sessio15

(--mayank: the folder holding `models/`; --era: the folder holding `model.py`.)
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch


def randomise(module, gen):
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif "wte" in name or "wpe" in name or "embed" in name or "lm_head" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)


def dschat_logits(dschat, pt, ids, incremental):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "logits.npy")
        cmd = [dschat, "logits", "--model", pt, "--ids", ",".join(map(str, ids)), "--out", out]
        subprocess.run(cmd + (["--incremental"] if incremental else []), check=True)
        return np.load(out)


def compare(name, dschat, pt, ids, reference):
    for incremental in (False, True):
        got = dschat_logits(dschat, pt, ids, incremental)
        err = np.abs(got - reference).max() / np.abs(reference).max()
        path = "token-by-token" if incremental else "full-sequence"
        print(f"{name:8s} {path:15s} relative max-abs error {err:.3g}  ({'ok' if err <= 1e-4 else 'FAIL'})")


def mayank(args, tmp):
    sys.path.insert(0, args.mayank)
    from models import DeepSeekConfig, DeepSeekV3  # the project's own code
    gen = torch.Generator().manual_seed(9001)
    cfg = DeepSeekConfig(vocab_size=500, block_size=64, n_layer=3, n_embd=96, n_head=4, kv_lora_rank=40,
                         q_lora_rank=56, rope_dim=8, n_experts=6, n_experts_per_token=2, expert_intermediate_size=40,
                         shared_expert_intermediate_size=72, mtp_num_heads=1, dropout=0.0)
    model = DeepSeekV3(cfg)
    randomise(model, gen)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("expert_bias"):  # trained values are not zero
                buf.copy_(0.3 * torch.randn(buf.shape, generator=gen))
        for name, p in model.named_parameters():
            if name.endswith("kv_proj.weight"):  # a small latent, so where eps sits in RMSNorm shows
                p.mul_(0.01)
    pt = os.path.join(tmp, "best_deepseek_v3.pt")
    torch.save(model.state_dict(), pt)  # as training/trainer.py saves it
    ids = torch.randint(0, cfg.vocab_size, (50,), generator=gen)
    model = model.double().eval()
    with torch.no_grad():
        logits = model(ids[None], targets=ids[None])[0][0].numpy()  # with targets: every position
    compare("mayank", args.dschat, pt, ids.tolist(), logits)


def era(args, tmp):
    sys.path.insert(0, args.era)
    import model as era_model  # the project's own model.py
    gen = torch.Generator().manual_seed(9002)
    cfg = era_model.DeepSeekV3Config(vocab_size=400, hidden_size=96, num_hidden_layers=2, num_attention_heads=3,
                                     kv_lora_rank=48, moe_intermediate_size=40, n_shared_experts=1, n_routed_experts=6,
                                     num_experts_per_tok=2, max_position_embeddings=256, rms_norm_eps=1e-5,
                                     rope_theta=10000.0, tie_word_embeddings=True)
    model = era_model.DeepSeekV3ForCausalLM(cfg)
    randomise(model, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = 1e-2 * torch.randn(p.shape, generator=gen)
    opt.step()
    pt = os.path.join(tmp, "checkpoint_5500.pt")
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": opt.state_dict(), "config": cfg,
                "total_params": sum(p.numel() for p in model.parameters()), "global_step": 5500}, pt)
    ids = torch.randint(0, cfg.vocab_size, (50,), generator=gen)
    model = model.double().eval()
    with torch.no_grad():
        logits = model(input_ids=ids[None])["logits"][0].numpy()
    compare("era", args.dschat, pt, ids.tolist(), logits)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dschat", required=True)
    ap.add_argument("--mayank")
    ap.add_argument("--era")
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.mayank:
            mayank(args, tmp)
        if args.era:
            era(args, tmp)


if __name__ == "__main__":
    main()
