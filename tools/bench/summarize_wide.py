#!/usr/bin/python3
"""Table of tools/bench/side_by_side_wide.sh runs: per type and round, decode tok/s of llama.cpp,
dschat (and the second dschat build), the load average before each, the same-round ratio, and
the weight bytes a decoded token reads (from MODEL_DIR/config.json) with the GB/s that makes.

Usage: tools/bench/summarize_wide.py MODEL_DIR runs.jsonl [more.jsonl ...]
Bytes per token: every attention and dense weight, the top-k routed plus the shared experts of
each MoE layer, the routers (BF16, as dschat keeps them), lm_head; the embedding row is left out.
"""
import json
import sys
from collections import defaultdict

BYTES_PER_WEIGHT = {"q4_0": 18 / 32, "q8_0": 34 / 32, "bf16": 2.0}


def weights_per_token(c: dict) -> tuple:
    """(weights read through the quantized type, router weights) per decoded token."""
    h, heads = c["hidden_size"], c["num_attention_heads"]
    nope, rope, v, kv, ql = (c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"], c["kv_lora_rank"],
                             c.get("q_lora_rank"))
    q = ql * h + heads * (nope + rope) * ql if ql else heads * (nope + rope) * h
    attn = q + (kv + rope) * h + heads * (nope + v) * kv + h * heads * v
    dense = c["first_k_dense_replace"]
    moe_layers = c["num_hidden_layers"] - dense
    f = c["moe_intermediate_size"]
    moe = 3 * h * f * (c["num_experts_per_tok"] + c["n_shared_experts"])
    total = c["num_hidden_layers"] * attn + dense * 3 * h * c["intermediate_size"] + moe_layers * moe
    total += c["vocab_size"] * h
    return total, moe_layers * c["n_routed_experts"] * h


def main() -> None:
    with open(f"{sys.argv[1]}/config.json") as f:
        config = json.load(f)
    weights, router = weights_per_token(config)
    runs = defaultdict(dict)
    for path in sys.argv[2:]:
        for line in open(path):
            d = json.loads(line)
            if d["prog"] == "llama":
                kind = d["model_type"].split()[-1].lower()
                runs[(kind, d["n_threads"], d["round"])]["llama"] = (d["avg_ts"], d["load"])
            else:
                runs[(d["type"], d["threads"], d["round"])][d["prog"]] = (d["decode_tps"], d["load"])
    print("| weights | threads | round | MB/token | llama.cpp tg32 (load) | dschat tg32 (load) | ratio | dschat GB/s | "
          "dschat before (load) | after/before |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (kind, threads, rnd), r in sorted(runs.items()):
        mb = (weights * BYTES_PER_WEIGHT[kind] + router * 2) / 1e6
        cell = lambda k: f"{r[k][0]:.1f} ({r[k][1]:.1f})" if k in r else "–"  # noqa: E731
        ratio = f"{r['dschat'][0] / r['llama'][0]:.2f}×" if "dschat" in r and "llama" in r else "–"
        gbs = f"{r['dschat'][0] * mb / 1e3:.1f}" if "dschat" in r else "–"
        ab = f"{r['dschat'][0] / r['dschat_b'][0]:.2f}×" if "dschat" in r and "dschat_b" in r else "–"
        print(f"| {kind.upper()} | {threads} | {rnd} | {mb:.0f} | {cell('llama')} | {cell('dschat')} | {ratio} | {gbs} | "
              f"{cell('dschat_b')} | {ab} |")


if __name__ == "__main__":
    main()
