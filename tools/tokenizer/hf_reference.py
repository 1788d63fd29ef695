#!/usr/bin/env python3
"""A small, independent Python implementation of the subset of Hugging Face tokenizer.json
that dschat supports, used to make and cross-check golden ids (never by dschat itself).

It follows the reference semantics directly:
  * regexes run on Python's `regex` module (Debian python3-regex), whose \\s is the Unicode
    White_Space property and whose \\p{L}/\\p{N} are general categories, as in OpenAI's GPT-2
    encoder.py, tiktoken (fancy-regex) and Hugging Face tokenizers (Oniguruma);
  * BPE merges the lowest-ranked adjacent pair, all its occurrences left to right, repeatedly
    (OpenAI gpt-2 encoder.py `bpe`);
  * pre-tokenizer and added-token behaviour as documented for Hugging Face tokenizers.

    /usr/bin/python3 tools/tokenizer/hf_reference.py TOKENIZER.json "text"   # prints the ids
"""
import json
import sys
import unicodedata

import regex

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def split_pieces(text, matches, behavior, invert):
    """HF NormalizedString::split: `matches` are (start, end) spans of the delimiter pattern."""
    parts = []
    prev = 0
    for start, end in matches:
        if start != prev:
            parts.append((prev, start, invert))
        parts.append((start, end, not invert))
        prev = end
    if prev != len(text):
        parts.append((prev, len(text), invert))
    pieces = []
    if behavior == "Isolated":
        pieces = [(s, e) for s, e, _ in parts]
    elif behavior == "Removed":
        pieces = [(s, e) for s, e, m in parts if not m]
    elif behavior == "Contiguous":
        previous_match = False
        for s, e, m in parts:
            if m == previous_match and pieces:
                pieces[-1] = (pieces[-1][0], e)
            else:
                pieces.append((s, e))
            previous_match = m
    elif behavior == "MergedWithPrevious":
        previous_match = False
        for s, e, m in parts:
            if m and not previous_match and pieces:
                pieces[-1] = (pieces[-1][0], e)
            else:
                pieces.append((s, e))
            previous_match = m
    elif behavior == "MergedWithNext":
        previous_match = False
        for s, e, m in reversed(parts):
            if m and not previous_match and pieces:
                pieces[-1] = (s, pieces[-1][1])
            else:
                pieces.append((s, e))
            previous_match = m
        pieces.reverse()
    else:
        raise ValueError(f"unknown behavior {behavior}")
    return [text[s:e] for s, e in pieces if e > s]


class Tokenizer:
    def __init__(self, spec):
        self.spec = spec
        model = spec["model"]
        assert model["type"] == "BPE"
        self.vocab = model["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {}
        for rank, pair in enumerate(merges):
            self.ranks.setdefault(pair, rank)
        self.ignore_merges = bool(model.get("ignore_merges"))
        self.added = spec.get("added_tokens") or []
        self.cache = {}

    # -- added tokens ----------------------------------------------------------------------
    def split_added(self, text, parse_special):
        tokens = [t for t in self.added if parse_special or not t.get("special")]
        segments = []
        start = 0
        pos = 0
        while pos < len(text):
            best = None
            for t in tokens:
                if text.startswith(t["content"], pos) and (best is None or len(t["content"]) > len(best["content"])):
                    best = t
            if best is None:
                pos += 1
                continue
            begin = pos
            end = pos + len(best["content"])
            if best.get("lstrip"):
                while begin > start and regex.match(r"\s", text[begin - 1]):
                    begin -= 1
            if best.get("rstrip"):
                while end < len(text) and regex.match(r"\s", text[end]):
                    end += 1
            if begin > start:
                segments.append(text[start:begin])
            segments.append(best["id"])
            start = pos = end
        if start < len(text):
            segments.append(text[start:])
        return segments

    # -- normalizer ------------------------------------------------------------------------
    def normalize(self, text, spec=None):
        spec = self.spec.get("normalizer") if spec is None else spec
        if spec is None:
            return text
        if spec["type"] == "Sequence":
            for s in spec["normalizers"]:
                text = self.normalize(text, s)
            return text
        if spec["type"] in ("NFC", "NFD", "NFKC", "NFKD"):
            return unicodedata.normalize(spec["type"], text)
        raise ValueError(f"normalizer {spec['type']}")

    # -- pre-tokenizers --------------------------------------------------------------------
    def pre_tokenize(self, pieces, spec):
        if spec is None:
            return pieces
        kind = spec["type"]
        if kind == "Sequence":
            for s in spec["pretokenizers"]:
                pieces = self.pre_tokenize(pieces, s)
            return pieces
        out = []
        for piece in pieces:
            if kind == "ByteLevel":
                if spec.get("add_prefix_space", True) and not piece.startswith(" "):
                    piece = " " + piece
                parts = [piece]
                if spec.get("use_regex", True):
                    parts = split_pieces(piece, [m.span() for m in regex.finditer(GPT2_PATTERN, piece)], "Isolated", False)
                out += ["".join(BYTE_TO_CHAR[b] for b in p.encode("utf-8")) for p in parts]
            elif kind == "Split":
                pattern = spec["pattern"]
                rx = pattern["Regex"] if "Regex" in pattern else regex.escape(pattern["String"])
                spans = [m.span() for m in regex.finditer(rx, piece)]
                out += split_pieces(piece, spans, spec["behavior"], spec.get("invert", False))
            elif kind == "Digits":
                # Rust char::is_numeric: general category N*; each digit is its own match.
                spans = [(i, i + 1) for i, c in enumerate(piece) if unicodedata.category(c).startswith("N")]
                behavior = "Isolated" if spec.get("individual_digits") else "Contiguous"
                out += split_pieces(piece, spans, behavior, False)
            else:
                raise ValueError(f"pre-tokenizer {kind}")
        return [p for p in out if p]

    # -- BPE -------------------------------------------------------------------------------
    def bpe(self, word):
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        if word in self.cache:
            return self.cache[word]
        symbols = list(word)
        while len(symbols) > 1:
            pairs = {(symbols[i], symbols[i + 1]) for i in range(len(symbols) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        ids = [self.vocab[s] for s in symbols]
        self.cache[word] = ids
        return ids

    def encode(self, text, parse_special=False):
        ids = []
        for segment in self.split_added(text, parse_special):
            if isinstance(segment, int):
                ids.append(segment)
                continue
            pieces = self.pre_tokenize([self.normalize(segment)] if segment else [], self.spec.get("pre_tokenizer"))
            for piece in pieces:
                ids += self.bpe(piece)
        return ids


def load(path):
    with open(path, encoding="utf-8") as f:
        return Tokenizer(json.load(f))


if __name__ == "__main__":
    print(json.dumps(load(sys.argv[1]).encode(sys.argv[2])))
