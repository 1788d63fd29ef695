#!/usr/bin/env python3
"""Table of tools/bench/side_by_side_gguf.sh output: per round and file, llama-bench's pp and tg
(avg_ts) beside each dschat run's prefill and decode tok/s, the load average before each run,
and dschat's ratio to llama.cpp in the same round.
  tools/bench/summarize_gguf.py runs.jsonl"""
import json
import sys

rows = {}
bandwidth = {}     # round -> GB/s read by the machine at the start of the round (BANDWIDTH=...)
token_bytes = {}   # file -> bytes a decoded token reads (dschat's decode_weight_bytes_per_token)
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    if d["prog"] == "bandwidth":
        bandwidth[d["round"]] = d["best_gb_per_s"]
        continue
    if "decode_weight_bytes_per_token" in d:
        token_bytes[d["file"]] = d["decode_weight_bytes_per_token"] + d.get("decode_cache_bytes_per_token", 0)
    key = (d["round"], d["file"])
    r = rows.setdefault(key, {})
    # Measured after a depth of cached tokens (DEPTH=N): the test is named as llama-bench does.
    depth = d.get("n_depth", 0) if d["prog"] == "llama" else d.get("depth", 0)
    at = f" @ d{depth}" if depth else ""
    if d["prog"] == "llama":
        kind = "pp" if d["n_prompt"] > 0 else "tg"
        r[("llama", kind + at)] = (d["avg_ts"], d["load"])
    else:
        r[(d["prog"], "pp" + at)] = (d["prefill_tps"], d["load"])
        r[(d["prog"], "tg" + at)] = (d["decode_tps"], d["load"])

progs = sorted({p for r in rows.values() for (p, _) in r if p != "llama"})
print("| round | file | test | llama.cpp (load) | " + " | ".join(f"{p} (load) | {p}/llama" for p in progs) + " |")
print("|---" * (4 + 2 * len(progs)) + "|")
for (rnd, f), r in sorted(rows.items()):
    for kind in sorted({k for (p, k) in r if p == "llama"}):
        if ("llama", kind) not in r:
            continue
        ll, ll_load = r[("llama", kind)]
        cells = [str(rnd), f, kind, f"{ll:.1f} ({ll_load})"]
        for p in progs:
            v, load = r.get((p, kind), (float("nan"), "-"))
            cells += [f"{v:.1f} ({load})", f"{v / ll:.2f}x"]
        print("| " + " | ".join(cells) + " |")

# With several rounds: per file and test, the medians over the rounds (the machine's memory
# bandwidth drifts between runs, so one round's ratio is noisy; the median of the rounds' ratios
# is the figure to quote).
rounds = sorted({rnd for (rnd, _) in rows})
if len(rounds) > 1:
    from statistics import median
    print()
    print("| file | test | rounds | llama.cpp median | " + " | ".join(f"{p} median | {p}/llama median of rounds" for p in progs) + " |")
    print("|---" * (4 + 2 * len(progs)) + "|")
    for f in sorted({f for (_, f) in rows}):
        kinds = sorted({k for (rnd, ff), r in rows.items() if ff == f for (p, k) in r if p == "llama"})
        for kind in kinds:
            per_round = [r for (rnd, ff), r in sorted(rows.items()) if ff == f and ("llama", kind) in r]
            ll = [r[("llama", kind)][0] for r in per_round]
            cells = [f, kind, str(len(per_round)), f"{median(ll):.1f}"]
            for p in progs:
                mine = [r[(p, kind)][0] for r in per_round if (p, kind) in r]
                ratios = [r[(p, kind)][0] / r[("llama", kind)][0] for r in per_round if (p, kind) in r]
                cells += [f"{median(mine):.1f}", f"{median(ratios):.2f}x"] if mine else ["-", "-"]
            print("| " + " | ".join(cells) + " |")

# With BANDWIDTH=...: each decode as GB/s (the file's bytes per decoded token, from dschat's JSON,
# times the rate; llama.cpp reads the same tensors of the same file) and as a share of the read
# bandwidth measured at the start of its round.
if bandwidth and token_bytes:
    print()
    print("| round | machine GB/s | file | test | llama.cpp GB/s (share) | "
          + " | ".join(f"{p} GB/s (share)" for p in progs) + " |")
    print("|---" * (5 + len(progs)) + "|")
    for (rnd, f), r in sorted(rows.items()):
        if rnd not in bandwidth or f not in token_bytes:
            continue
        bw = bandwidth[rnd]
        for kind in sorted(k for (p, k) in r if p == "llama" and k.startswith("tg")):
            cells = [str(rnd), f"{bw:.1f}", f, kind]
            for p in ["llama"] + progs:
                if (p, kind) in r:
                    gbs = token_bytes[f] * r[(p, kind)][0] / 1e9
                    cells.append(f"{gbs:.1f} ({100 * gbs / bw:.0f}%)")
                else:
                    cells.append("-")
            print("| " + " | ".join(cells) + " |")
