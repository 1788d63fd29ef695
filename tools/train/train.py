#!/usr/bin/python3
"""Trains the bundled small DeepSeek-V3 (tools/reference/deepseek_v3.py, the project's one
PyTorch definition of the math) on the token streams of prepare_data.py.

  /usr/bin/python3 tools/train/train.py --shape shapes/final.json --run runs/final \
      --steps 4000 --time-limit 1800          # repeat the same command to resume

What is trained: DeepseekV3ForCausalLM(mtp=True) with tied embeddings; loss = CE(main, next
token) + mtp_weight * CE(MTP module, token after next) (DeepSeek-V3 report, section 2.2).
Auxiliary-loss-free balancing (report, section 2.1.2): after each optimizer step every MoE layer
(the MTP layer too) does e_score_correction_bias_i += gamma * sign(mean_load - load_i).

Compact vocabulary (an exact full-vocabulary softmax, not an approximation): the training
corpus uses only N_active of the 50257 GPT-2 ids. The model is trained with vocab_size =
N_active + 1, the last row being one embedding `u` shared by every other id; its logit gets
+log(50257 - N_active), so the softmax equals the full 50257-way softmax of the exported model
in which every unused id's row is `u` (export.py). The reported held-out loss is recomputed by
evaluate.py on the exported 50257-row model.

Warm start on another corpus (--init runs/bundled/best.pt --data runs/data_mix): the new run
keeps the vocabulary of the checkpoint it starts from; ids of the new data outside it are
"unused" ids (the shared row), so the loss stays the exact full-vocabulary loss.

Checkpoints (model, optimizer, step, RNG, log) go to RUN/ckpt.pt every --ckpt-seconds and at
the end of each chunk; the loss curve to RUN/log.tsv.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/
from reference.deepseek_v3 import DeepseekV3Config, DeepseekV3ForCausalLM  # noqa: E402

FULL_VOCAB = 50257
EOS_ID = 50256


def compact_vocab(train_ids: np.ndarray):
    """Sorted active ids (every id of the training stream, plus eos) and the full->compact map;
    unused ids map to the shared row N_active."""
    active = np.union1d(np.unique(train_ids), [EOS_ID]).astype(np.int64)
    to_compact = np.full(FULL_VOCAB, len(active), dtype=np.int64)
    to_compact[active] = np.arange(len(active))
    return active, to_compact


def model_config(shape: dict, vocab_size: int) -> DeepseekV3Config:
    d = dict(shape)
    d.update(vocab_size=vocab_size, tie_word_embeddings=True, num_nextn_predict_layers=1,
             bos_token_id=EOS_ID, eos_token_id=EOS_ID)
    return DeepseekV3Config.from_dict(d)


def init_weights(model: DeepseekV3ForCausalLM, seed: int):
    """Normal(0, 0.02) for matrices (HF initializer_range), residual-output projections scaled by
    1/sqrt(2 * layers) (GPT-2), norms 1, correction biases 0."""
    g = torch.Generator().manual_seed(seed)
    n_layers = model.cfg.num_hidden_layers + 1
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
            else:
                std = 0.02
                if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    std /= math.sqrt(2 * n_layers)
                p.copy_(torch.randn(p.shape, generator=g) * std)
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.zero_()


def compact_loss(logits: torch.Tensor, targets: torch.Tensor, log_unused: float) -> torch.Tensor:
    """Mean CE of the full-vocabulary softmax, given compact logits (last column = shared row)."""
    offset = torch.zeros(logits.shape[-1], dtype=logits.dtype)
    offset[-1] = log_unused
    ce = F.cross_entropy((logits + offset).flatten(0, -2), targets.flatten(), reduction="none")
    # a target mapped to the shared row is ONE of the unused ids: remove the multiplicity again
    return (ce + (targets.flatten() == logits.shape[-1] - 1).to(ce.dtype) * log_unused).mean()


class TrainableDeepseekV3(DeepseekV3ForCausalLM):
    """The reference model plus a training shortcut: the MTP module's output head applied to a
    subset of positions (every `mtp_stride`-th), which saves most of its full-width head cost.
    mtp_hidden is forward_mtp without the head; check_against_reference() asserts that."""

    def mtp_hidden(self, ids: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        layer = self.mtp_layers()[0]
        emb = self.model.embed_tokens(ids[:, 1:])
        h = layer.eh_proj(torch.cat((layer.enorm(emb), layer.hnorm(hidden[:, :-1])), dim=-1))
        cos, sin = self.rope_cos_sin(torch.arange(h.shape[1], device=ids.device), h.dtype)
        return layer.shared_head.norm(layer(h, cos, sin, self.scale))

    @torch.no_grad()
    def check_against_reference(self):
        ids = torch.randint(0, self.cfg.vocab_size, (1, 12), generator=torch.Generator().manual_seed(0))
        hidden = self.hidden_states(ids)
        mine = self.mtp_layers()[0].shared_head.head(self.mtp_hidden(ids, hidden))
        diff = (mine - self.forward_mtp(ids, hidden)).abs().max().item()
        if diff > 1e-5:
            raise AssertionError(f"mtp_hidden differs from the reference forward_mtp by {diff}")


def losses(model, x, y_main, y_mtp, log_unused, mtp_stride=1):
    hidden = model.hidden_states(x)
    main = compact_loss(model.lm_head(hidden), y_main, log_unused)
    h_mtp = model.mtp_hidden(x, hidden)[:, ::mtp_stride]
    mtp = compact_loss(model.lm_head(h_mtp), y_mtp[:, ::mtp_stride], log_unused)
    return main, mtp


def update_correction_biases(model, gamma: float):
    """bias_i += gamma * sign(mean_load - load_i) for every MoE layer (main and MTP)."""
    with torch.no_grad():
        for i, counts in model.expert_counts().items():
            gate = model.model.layers[i].mlp.gate
            load = counts.to(torch.float32)
            gate.e_score_correction_bias += gamma * torch.sign(load.mean() - load)


def lr_at(step: int, args) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(model, valid: torch.Tensor, seq: int, log_unused: float, max_windows: int = 0,
             rank: int = 0, world: int = 1):
    """Held-out main and MTP loss over non-overlapping windows of `seq` tokens (every token of
    the held-out stream is predicted once, with the context since its window start). With
    several workers each takes every world-th window and the sums are combined."""
    model.eval()
    n = (valid.numel() - 1) // seq
    if max_windows:
        n = min(n, max_windows)
    mine = list(range(rank, n, world))
    sums = torch.zeros(4, dtype=torch.float64)  # main loss sum, tokens, mtp loss sum, tokens
    for b in range(0, len(mine), 8):
        starts = [i * seq for i in mine[b:b + 8]]
        w = torch.stack([valid[s:s + seq + 1] for s in starts])
        x, y = w[:, :-1], w[:, 1:]
        main, mtp = losses(model, x, y, y[:, 1:], log_unused)
        sums += torch.tensor([main.item() * y.numel(), y.numel(), mtp.item() * y[:, 1:].numel(), y[:, 1:].numel()],
                             dtype=torch.float64)
    if world > 1:
        dist.all_reduce(sums)
    model.train()
    return (sums[0] / sums[1]).item(), (sums[2] / sums[3]).item()


def all_reduce_mean_(tensors, world):
    """Averages the tensors over workers in place (one flat buffer, one all_reduce)."""
    if world == 1:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def parameter_groups(model, weight_decay):
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", required=True, help="JSON file of config.json keys (shape only)")
    ap.add_argument("--run", required=True, help="run directory (checkpoint, log)")
    ap.add_argument("--data", default=os.path.join(HERE, "runs", "data"))
    ap.add_argument("--steps", type=int, default=4000, help="total optimizer steps (LR schedule)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--mtp-weight", type=float, default=0.3)
    ap.add_argument("--mtp-stride", type=int, default=2, help="MTP head on every n-th position")
    ap.add_argument("--bias-gamma", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--workers", type=int, default=2,
                    help="data-parallel worker processes (each computes batch/workers sequences; one "
                         "gradient all-reduce per step: on a busy machine this wastes less than threads)")
    ap.add_argument("--time-limit", type=float, default=1e9, help="seconds for this chunk")
    ap.add_argument("--ckpt-seconds", type=float, default=300)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--keep-best", action="store_true",
                    help="also keep RUN/best.pt, the weights of the lowest held-out loss so far "
                         "(export.py --checkpoint best.pt)")
    ap.add_argument("--eval-windows", type=int, default=0, help="0: the whole held-out stream")
    ap.add_argument("--init", help="warm start of a new run: model weights and vocabulary of this checkpoint "
                                   "(e.g. runs/bundled/best.pt); ids of --data outside that vocabulary share "
                                   "the unused-id row. Ignored when RUN/ckpt.pt exists (resume)")
    args = ap.parse_args()
    if args.batch % args.workers:
        raise SystemExit("--batch must be a multiple of --workers")
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # inherited by the workers
    if args.workers == 1:
        worker(0, args)
    else:
        port = 29500 + os.getpid() % 1000
        torch.multiprocessing.spawn(worker, args=(args, port), nprocs=args.workers)


def worker(rank, args, port=None):
    world = args.workers
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    lead = rank == 0

    torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    with open(args.shape) as f:
        shape = json.load(f)
    train_full = np.load(os.path.join(args.data, "train.npy"))
    valid_full = np.load(os.path.join(args.data, "valid.npy"))
    ckpt_path = os.path.join(args.run, "ckpt.pt")
    ck = torch.load(ckpt_path) if os.path.exists(ckpt_path) else None
    init = torch.load(args.init) if ck is None and args.init else None
    if ck is not None or init is not None:  # the vocabulary the weights were trained with
        active = np.asarray((ck if ck is not None else init)["active"]).astype(np.int64)
        to_compact = np.full(FULL_VOCAB, len(active), dtype=np.int64)
        to_compact[active] = np.arange(len(active))
    else:
        active, to_compact = compact_vocab(train_full)
    log_unused = math.log(FULL_VOCAB - len(active))
    train = torch.from_numpy(to_compact[train_full])
    valid = torch.from_numpy(to_compact[valid_full])
    cfg = model_config(shape, len(active) + 1)

    torch.manual_seed(args.seed)
    model = TrainableDeepseekV3(cfg, mtp=True)
    init_weights(model, args.seed)
    model.check_against_reference()
    opt = torch.optim.AdamW(parameter_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed + 1)
    step, tokens_seen, elapsed_total = 0, 0, 0.0
    if init is not None:  # warm start: the weights only (fresh optimizer, schedule from step 0)
        model.load_state_dict(init["model"])
        if lead:
            print(f"initialised from {args.init} (step {init['step']}, held-out {init.get('valid')})", flush=True)
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step, tokens_seen, elapsed_total = ck["step"], ck["tokens"], ck["elapsed"]
        if lead:
            print(f"resumed at step {step}", flush=True)
    elif lead:
        with open(os.path.join(args.run, "meta.json"), "w") as f:
            json.dump({"args": vars(args), "shape": shape, "n_active": int(len(active))}, f, indent=1)
        np.save(os.path.join(args.run, "active_ids.npy"), active)
    if lead:
        with open(os.path.join(args.run, "commands.txt"), "a") as f:  # every invocation, for the record
            f.write(f"step {step}: /usr/bin/python3 " + " ".join(sys.argv) + "\n")
        counts = {"total": sum(p.numel() for p in model.parameters())}
        print(f"params (compact vocab {len(active) + 1}): {counts}", flush=True)

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "step": step, "tokens": tokens_seen, "elapsed": elapsed_total,
                    "cfg": cfg.to_dict(), "active": active}, tmp)
        os.replace(tmp, ckpt_path)

    best_path = os.path.join(args.run, "best.pt")
    best_valid = torch.load(best_path)["valid"] if os.path.exists(best_path) else math.inf
    log_path = os.path.join(args.run, "log.tsv")
    if lead and not os.path.exists(log_path):
        with open(log_path, "w") as f:
            f.write("step\ttokens\tseconds\tlr\ttrain_loss\ttrain_mtp_loss\tvalid_loss\tvalid_mtp_loss\n")
    stop_requested = []
    stop_file = os.path.join(args.run, "STOP")  # touch RUN/STOP: save, then stop
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(True))  # kill PID: save, then stop
    chunk_start = time.time()
    last_ckpt = time.time()
    run_main = run_mtp = 0.0
    run_n = 0
    model.train()
    while step < args.steps:
        t0 = time.time()
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = torch.randint(0, train.numel() - args.seq - 1, (args.batch,), generator=gen)
        w = torch.stack([train[s:s + args.seq + 1] for s in starts[rank::world].tolist()])
        x, y = w[:, :-1], w[:, 1:]
        main, mtp = losses(model, x, y, y[:, 1:], log_unused, args.mtp_stride)
        loss = main + args.mtp_weight * mtp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = list(model.parameters())
        for p in params:  # an expert no token chose on this worker: zero gradient (same buffer layout)
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        expert_counts = model.expert_counts()
        stats = torch.tensor([main.item(), mtp.item(), float(bool(stop_requested) or os.path.exists(stop_file))])
        all_reduce_mean_([p.grad for p in params] + [stats], world)
        if world > 1:
            for c in expert_counts.values():  # loads summed over workers
                dist.all_reduce(c)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        update_correction_biases(model, args.bias_gamma)
        step += 1
        tokens_seen += args.batch * args.seq
        elapsed_total += time.time() - t0
        run_main += stats[0].item()
        run_mtp += stats[1].item()
        run_n += 1
        if step % 5 == 0 and lead:
            print(f"step {step} lr {lr:.2e} loss {run_main / run_n:.4f} mtp {run_mtp / run_n:.4f} "
                  f"{args.batch * args.seq / (time.time() - t0):.0f} tok/s", flush=True)
        # every worker sees the same stop decision: limits from the lead's clock, stop flags averaged
        over_time = torch.tensor([float(time.time() - chunk_start > args.time_limit)])
        if world > 1:
            dist.broadcast(over_time, 0)
        last = step == args.steps or over_time.item() > 0 or stats[2].item() > 0
        if step % args.eval_every == 0 or last:
            t_eval = time.time()
            v_main, v_mtp = evaluate(model, valid, args.seq, log_unused, args.eval_windows, rank, world)
        if (step % args.eval_every == 0 or last) and lead:
            with open(log_path, "a") as f:
                f.write(f"{step}\t{tokens_seen}\t{elapsed_total:.0f}\t{lr:.3e}\t{run_main / run_n:.4f}\t"
                        f"{run_mtp / run_n:.4f}\t{v_main:.4f}\t{v_mtp:.4f}\n")
            print(f"== step {step} valid {v_main:.4f} mtp {v_mtp:.4f} (eval {time.time() - t_eval:.0f}s)",
                  flush=True)
            if args.keep_best and v_main < best_valid:  # early stopping on the held-out loss
                best_valid = v_main
                torch.save({"model": model.state_dict(), "step": step, "tokens": tokens_seen,
                            "valid": v_main, "cfg": cfg.to_dict(), "active": active}, best_path + ".tmp")
                os.replace(best_path + ".tmp", best_path)
                print(f"   best so far: saved {best_path}", flush=True)
            run_main = run_mtp = 0.0
            run_n = 0
        if (last or time.time() - last_ckpt > args.ckpt_seconds) and lead:
            save()
            last_ckpt = time.time()
        if last:
            break
    if lead and os.path.exists(stop_file):
        os.remove(stop_file)
    if lead:
        print(f"stopped at step {step}, {tokens_seen} tokens, {elapsed_total:.0f} s of training", flush=True)



if __name__ == "__main__":
    main()
