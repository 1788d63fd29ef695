#!/usr/bin/python3
"""Builds the training and held-out token streams for the bundled model from the King James
Bible (Debian package bible-kjv, public domain).

  /usr/bin/python3 tools/train/prepare_data.py [--dschat build-x/dschat] [--seed 1234]

1. `bible -f "Gen1:1-Rev22:21"` prints one verse a line, "Ge1:1 In the beginning ...";
   the reference ("Ge1:1 ") is stripped.
2. Whole books are held out for validation (HELD_OUT_BOOKS, ~5% of the text, mixed genres).
3. Chat shape: within a chapter, consecutive verses alternate as a user turn and an assistant
   turn; a chapter is cut into conversations of 1..MAX_PAIRS exchanges (random, seeded). Each
   conversation is rendered exactly as dschat's chat template (chat_format.py) renders it,
   text pieces tokenised by the project tokenizer (`dschat tokenize --batch`, or the
   provisional gpt-3-encoder script before dschat exists), special tokens as ids.
4. Conversations are concatenated (in book order) into one id stream per split:
   runs/data/{train,valid}.npy (int32), plus runs/data/meta.json.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chat_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(HERE, "runs", "data")

# Narrative, wisdom, poetry, prophecy, gospel, epistles: 222,700 of 4,404,412 characters (5.1%).
HELD_OUT_BOOKS = ["Ruth", "Eccl", "Lam", "Mic", "Jonah", "John", "Gal", "1Jn"]
MAX_PAIRS = 8
VERSE_LINE = re.compile(r"^([0-9]?[A-Za-z]+)([0-9]+):([0-9]+) (.*)$")


def read_kjv():
    """[(book, chapter, verse, text)] in canonical order."""
    text = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                          text=True).stdout
    verses = []
    for line in text.splitlines():
        m = VERSE_LINE.match(line)
        if not m:
            raise ValueError(f"bible output: unexpected line {line!r}")
        verses.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4).strip()))
    if len(verses) != 31102:
        raise ValueError(f"bible output: {len(verses)} verses, expected 31102")
    return verses


def conversations(verses, rng):
    """Yields lists of messages: consecutive verses of one chapter, user/assistant alternating."""
    chapters = []
    for book, chapter, _, text in verses:
        if not chapters or chapters[-1][0] != (book, chapter):
            chapters.append(((book, chapter), []))
        chapters[-1][1].append(text)
    for _, texts in chapters:
        i = 0
        while i < len(texts):
            pairs = rng.randint(1, MAX_PAIRS)
            chunk = texts[i:i + 2 * pairs]
            i += len(chunk)
            if len(chunk) % 2:  # a lone last verse: let it be a one-turn user message + reply
                if len(chunk) == 1:
                    continue
                chunk = chunk[:-1]
            roles = ["user", "assistant"] * (len(chunk) // 2)
            yield [{"role": r, "content": c} for r, c in zip(roles, chunk)]


def tokenize_texts(texts, dschat):
    """Text pieces -> id lists, through `dschat tokenize --batch` or the provisional script."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "texts.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        if dschat:
            cmd = [dschat, "tokenize", "--model", os.path.join(REPO, "assets", "model"), "--batch", path]
        else:
            cmd = ["node", os.path.join(HERE, "tokenize_provisional.js"), path]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    ids = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(ids) != len(texts):
        raise ValueError(f"tokenizer returned {len(ids)} lines for {len(texts)} texts")
    return ids


def build_stream(convs, dschat):
    pieces_per_conv = [chat_format.render_pieces(messages) for messages in convs]
    texts = sorted({p.text for pieces in pieces_per_conv for p in pieces if not p.special})
    ids_of = dict(zip(texts, tokenize_texts(texts, dschat)))
    stream = []
    for pieces in pieces_per_conv:
        for p in pieces:
            stream.extend([chat_format.SPECIAL_IDS[p.text]] if p.special else ids_of[p.text])
    return np.array(stream, dtype=np.int32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dschat", help="path of a built dschat (default: provisional gpt-3-encoder)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--check", help="compare with an existing runs/data instead of writing",
                    action="store_true")
    args = ap.parse_args()
    verses = read_kjv()
    books = {v[0] for v in verses}
    missing = [b for b in HELD_OUT_BOOKS if b not in books]
    if missing:
        raise ValueError(f"held-out books not found: {missing}")
    rng = random.Random(args.seed)
    train_verses = [v for v in verses if v[0] not in HELD_OUT_BOOKS]
    valid_verses = [v for v in verses if v[0] in HELD_OUT_BOOKS]
    train = build_stream(list(conversations(train_verses, rng)), args.dschat)
    valid = build_stream(list(conversations(valid_verses, rng)), args.dschat)
    meta = {"seed": args.seed, "held_out_books": HELD_OUT_BOOKS, "template": chat_format.TEMPLATE_NAME,
            "tokenizer": "dschat" if args.dschat else "gpt-3-encoder (provisional)",
            "train_tokens": int(train.size), "valid_tokens": int(valid.size),
            "train_verses": len(train_verses), "valid_verses": len(valid_verses),
            "train_chars": sum(len(v[3]) for v in train_verses),
            "valid_chars": sum(len(v[3]) for v in valid_verses)}
    if args.check:
        old_train = np.load(os.path.join(OUT_DIR, "train.npy"))
        old_valid = np.load(os.path.join(OUT_DIR, "valid.npy"))
        same = np.array_equal(old_train, train) and np.array_equal(old_valid, valid)
        print(json.dumps({"identical": bool(same), **meta}))
        sys.exit(0 if same else 1)
    os.makedirs(OUT_DIR, exist_ok=True)
    np.save(os.path.join(OUT_DIR, "train.npy"), train)
    np.save(os.path.join(OUT_DIR, "valid.npy"), valid)
    with open(os.path.join(OUT_DIR, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
