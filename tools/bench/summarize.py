#!/usr/bin/python3
"""The README's speed table from tools/bench/side_by_side.sh output: per weight type and thread
count, the median (min-max) tokens/s of each program over the rounds, and the median (min-max) of
the per-round ratios dschat / llama.cpp (runs of one round were adjacent in time).

    tools/bench/summarize.py runs.jsonl
"""
import json
import statistics
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith('{"prog"')]
    data = {}  # (program, type, threads, test) -> {round: tokens/s}
    for r in rows:
        if r["prog"] == "llama":
            key = ("llama", r["model_type"].split()[-1].lower(), r["n_threads"], "pp" if r["n_prompt"] > 0 else "tg")
            data.setdefault(key, {})[r["round"]] = r["avg_ts"]
        else:
            for test, field in (("pp", "prefill_tps"), ("tg", "decode_tps")):
                data.setdefault(("dschat", r["type"], r["threads"], test), {})[r["round"]] = r[field]

    def spread(values):
        return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})" if values else "–"

    def ratio(ours, theirs):
        rs = [ours[k] / theirs[k] for k in ours if k in theirs]
        return f"{statistics.median(rs):.2f}× ({min(rs):.2f}–{max(rs):.2f})" if rs else "–"

    print("| weights | threads | dschat pp512 | llama.cpp pp512 | ratio | dschat tg128 | llama.cpp tg128 | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for wtype in ("bf16", "q8_0", "q4_0", "f32"):
        for threads in (2, 1):
            cells = []
            for test in ("pp", "tg"):
                ours = data.get(("dschat", wtype, threads, test), {})
                theirs = data.get(("llama", wtype, threads, test), {})
                cells += [spread(list(ours.values())), spread(list(theirs.values())), ratio(ours, theirs)]
            print(f"| {wtype.upper()} | {threads} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
