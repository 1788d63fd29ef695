#!/usr/bin/env bash
# The terminal resized continuously while a reply streams (tiny, huge, below the minimum and
# back): dschat keeps running, the reply goes on (then Esc stops it), and the transcript on
# screen afterwards is exactly what a fresh dschat shows when it resumes the autosaved
# conversation (so neither the screen nor the file lost or garbled anything).
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

# The transcript part of the screen: from the first "You" label to the last reply's statistics.
transcript() { screen | sed -n '/^You$/,$p' | sed '/tok\/s | prompt/q'; }

start_chat 250 100
wait_loaded
set_long_replies
type_line "Describe the weather while the window changes size."
wait_for 'replying \(Esc stops\)' 20

sizes=(20x5 120x40 30x8 15x4 200x60 45x12 80x24 10x3 250x100 33x7 1x1 160x50 21x6 90x30)
storm=0
for ((round = 0; round < 3; round++)); do
  for size in "${sizes[@]}"; do
    tmx resize-window -t chat -x "${size%x*}" -y "${size#*x}"
    storm=$((storm + 1))
    sleep 0.05
    kill -0 "$(chat_pid)" 2>/dev/null || fail "dschat died during the resizes (after $storm)"
  done
done
tmx resize-window -t chat -x 250 -y 100
# Redrawn at the full width (the status line's text fits only there), still replying: the storm
# must have happened during the reply, or it tests nothing.
wait_for 'ctx [0-9]+/[0-9]+ \| (replying|[0-9.]+ tok/s)' 10
screen | grep -q 'replying (Esc stops)' || fail "the reply ended before the resizes did (make num_predict larger)"
echo "resized $storm times during the reply"
keys Escape
wait_reply_done 30
wait_for 'tok/s \| prompt' 10
live=$(transcript)
[ -n "$live" ] || fail "no transcript on screen after the resizes"
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat

file=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
python3 - "$file" <<'PY' || fail "the saved conversation is not complete"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["role"] for x in m] == ["user", "assistant"], m
assert m[0]["content"] == "Describe the weather while the window changes size."
assert len(m[1]["content"]) > 20 and m[1].get("interrupted") is True, m[1]
PY

start_chat 250 100 --resume "$file"
wait_loaded
# The resumed transcript is complete once its last line, the reply's statistics, is on screen (the
# load's notices follow it; transcript() stops at the statistics).
wait_for 'tok/s \| prompt' 20
resumed=$(transcript)
if [ "$live" != "$resumed" ]; then
  diff <(echo "$live") <(echo "$resumed") >&2
  fail "the transcript after the resizes differs from the resumed conversation's"
fi
echo "transcript after resizes == resumed transcript ($(echo "$live" | wc -l) rows)"
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
