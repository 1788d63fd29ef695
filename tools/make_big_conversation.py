#!/usr/bin/python3
"""Writes a large dschat conversation file (DESIGN.md's format) for measuring how fast and in how
much memory one opens: `dschat --resume FILE`, ConversationStore::load.

    tools/make_big_conversation.py OUT.json SIZE_MB [--huge N]

The file holds N huge messages (default 4; together half of SIZE_MB, with non-ASCII text, quotes,
backslashes and newlines to escape) and, for the other half, user/assistant pairs of a few hundred
bytes with statistics, as a long chat would. Deterministic: the same arguments make the same bytes.
Standard library only.
"""
import argparse
import json
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("size_mb", type=float)
    ap.add_argument("--huge", type=int, default=4, help="how many huge messages (default 4)")
    args = ap.parse_args()
    target = int(args.size_mb * 1e6)
    rng = random.Random(21)
    words = ["the", "model", "latent", "attention", "expert", "token", "cache", "reply", "caf\u00e9",
             "\u00fcber", "\u65e5\u672c", "\"quoted\"", "back\\slash", "line\n", "tab\t", "na\u00efve"]
    header = {"format": "dschat-conversation", "version": 1, "id": "20261204-000000-b1g0",
              "created": "2026-12-04T00:00:00Z", "updated": "2026-12-04T00:00:00Z",
              "model": {"path": "/models/deepseek-v3", "name": "DeepSeek-V3"}, "title": "a long chat",
              "system": "You are terse.",
              "sampling": {"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05,
                           "repeat_penalty": 1.1, "repeat_last_n": 64, "seed": 0}}
    with open(args.out, "w", encoding="utf-8") as out:
        text = json.dumps(header, ensure_ascii=False, indent=2)
        out.write(text[:-2] + ',\n  "messages": [\n')
        written = len(text.encode())
        first = True
        role = "user"

        def message(content):
            nonlocal first, role, written
            m = {"role": role, "content": content, "time": "2026-12-04T00:00:01Z"}
            if role == "assistant":
                m["stats"] = {"tokens": len(content) // 4, "tokens_per_second": 12.5, "stop": "eos",
                              "prompt_tokens": 100, "reused_tokens": 90}
            line = ("" if first else ",\n") + "    " + json.dumps(m, ensure_ascii=False)
            out.write(line)
            written += len(line.encode())
            first = False
            role = "assistant" if role == "user" else "user"

        huge_bytes = target // 2 // max(args.huge, 1)
        for _ in range(args.huge):
            chunk = " ".join(rng.choice(words) for _ in range(4096))
            message((chunk * (huge_bytes // len(chunk.encode()) + 1))[:huge_bytes])
        while written < target:
            message(" ".join(rng.choice(words) for _ in range(rng.randint(20, 80))))
        if role == "assistant":
            message("the end")
        out.write("\n  ]\n}\n")


if __name__ == "__main__":
    main()
