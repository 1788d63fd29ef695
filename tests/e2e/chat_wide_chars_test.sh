#!/usr/bin/env bash
# CJK and emoji take two columns: wrapped rows hold exactly as many as fit, and the status line
# and the input line below keep their columns.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 60 20
wait_loaded
type_line "/set parameter num_predict 1"
cjk=$(printf '中%.0s' $(seq 1 40))      # 40 ideographs = 80 columns
emoji=$(printf '😀%.0s' $(seq 1 35))    # 35 emoji = 70 columns
type_line "$cjk"
wait_for '^  中' 10
wait_reply_done 40
type_line "$emoji"
wait_for '^  😀' 10
wait_reply_done 40
screen > "$E2E_DIR/screen.txt"
python3 - "$E2E_DIR/screen.txt" <<'PY' || fail "wide characters misplaced"
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
rows = open(sys.argv[1], encoding="utf-8").read().split("\n")
cjk = [r for r in rows if r.startswith("  中")]
emo = [r for r in rows if r.startswith("  \U0001F600")]
# 60 columns, 2 of indent: 29 two-column characters a row.
assert [r.count("中") for r in cjk] == [29, 11], [r.count("中") for r in cjk]
assert [r.count("\U0001F600") for r in emo] == [29, 6], [r.count("\U0001F600") for r in emo]
for r in rows:
    assert width(r) <= 60, (width(r), r)
status = [r for r in rows if " | ctx " in r]
assert status and status[-1].startswith(" "), status
print("wide rows ok:", len(cjk), "CJK rows,", len(emo), "emoji rows")
PY
# The input line: typing after wide characters puts the cursor at the right column.
keys -l "中文ab"
sleep 0.3
pos=$(tmx display -p -t chat '#{cursor_x}')
[ "$pos" = 10 ] || fail "cursor after '>>> 中文ab' at column $pos, expected 10"
keys C-c
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
