#!/usr/bin/env python3
"""Table of tools/bench/side_by_side_gguf.sh output: per round and file, llama-bench's pp and tg
(avg_ts) beside each dschat run's prefill and decode tok/s, the load average before each run,
and dschat's ratio to llama.cpp in the same round.
  tools/bench/summarize_gguf.py runs.jsonl"""
import json
import sys

rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
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
