#!/usr/bin/python3
"""Builds the training and held-out token streams for the bundled model from the King James
Bible (Debian package bible-kjv, public domain), optionally mixed with public-domain commentaries
from Debian's SWORD packages (extra_texts.py).

  /usr/bin/python3 tools/train/prepare_data.py [--dschat build-x/dschat] [--seed 1234]
  /usr/bin/python3 tools/train/prepare_data.py --dschat build-x/dschat --seed 1234 \
      --kjv-copies 2 --extra mhcc,tdavid --out tools/train/runs/data_mix

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
5. Mixed corpus (--kjv-copies, --extra): the held-out stream is exactly the KJV-only one (same
   books, same seeded segmentation: the KJV part is drawn first from the same generator). The
   training stream is the KJV training books --kjv-copies times (each further copy segmented with
   its own seed, so a verse pair is not always cut the same way), then the extra texts (their
   entries on held-out books dropped), each cut into sentences that alternate as user and
   assistant turns like verses. Note the training stream's new ids are NOT added to the model's
   vocabulary by train.py when it warm-starts (--init): they share the row of unused ids.
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
import extra_texts  # noqa: E402

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


def passage_conversations(passages, rng):
    """Like conversations(), for prose: each passage (a list of sentences) plays a chapter."""
    verses = [(str(i), 0, j, text) for i, sentences in enumerate(passages) for j, text in enumerate(sentences)]
    return conversations(verses, rng)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dschat", help="path of a built dschat (default: provisional gpt-3-encoder)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--check", help="compare with an existing runs/data instead of writing",
                    action="store_true")
    ap.add_argument("--out", default=OUT_DIR, help="output directory (default runs/data)")
    ap.add_argument("--kjv-copies", type=int, default=1, help="times the KJV training books are in the stream")
    ap.add_argument("--extra", default="", help="comma-separated extra texts: " + ", ".join(extra_texts.SOURCES))
    args = ap.parse_args()
    out_dir = args.out
    verses = read_kjv()
    books = {v[0] for v in verses}
    missing = [b for b in HELD_OUT_BOOKS if b not in books]
    if missing:
        raise ValueError(f"held-out books not found: {missing}")
    rng = random.Random(args.seed)
    train_verses = [v for v in verses if v[0] not in HELD_OUT_BOOKS]
    valid_verses = [v for v in verses if v[0] in HELD_OUT_BOOKS]
    train_parts = [build_stream(list(conversations(train_verses, rng)), args.dschat)]
    valid = build_stream(list(conversations(valid_verses, rng)), args.dschat)
    for copy in range(1, args.kjv_copies):
        train_parts.append(build_stream(list(conversations(train_verses, random.Random(args.seed + copy))),
                                        args.dschat))
    extra_meta = {}
    for name in [n for n in args.extra.split(",") if n]:
        passages, info = extra_texts.read(name, exclude_books=HELD_OUT_BOOKS)
        convs = list(passage_conversations(passages, random.Random(f"{args.seed}-{name}")))
        train_parts.append(build_stream(convs, args.dschat))
        info.update(passages=len(passages), sentences=sum(len(p) for p in passages),
                    chars=sum(len(t) for p in passages for t in p), tokens=int(train_parts[-1].size))
        extra_meta[name] = info
    train = np.concatenate(train_parts)
    meta = {"seed": args.seed, "held_out_books": HELD_OUT_BOOKS, "template": chat_format.TEMPLATE_NAME,
            "tokenizer": "dschat" if args.dschat else "gpt-3-encoder (provisional)",
            "train_tokens": int(train.size), "valid_tokens": int(valid.size),
            "train_verses": len(train_verses), "valid_verses": len(valid_verses),
            "train_chars": sum(len(v[3]) for v in train_verses),
            "valid_chars": sum(len(v[3]) for v in valid_verses)}
    if args.kjv_copies != 1 or extra_meta:
        meta.update(kjv_copies=args.kjv_copies, extra=extra_meta)
    if args.check:
        old_train = np.load(os.path.join(out_dir, "train.npy"))
        old_valid = np.load(os.path.join(out_dir, "valid.npy"))
        same = np.array_equal(old_train, train) and np.array_equal(old_valid, valid)
        print(json.dumps({"identical": bool(same), **meta}))
        sys.exit(0 if same else 1)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "train.npy"), train)
    np.save(os.path.join(out_dir, "valid.npy"), valid)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
