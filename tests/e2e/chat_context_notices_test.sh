#!/usr/bin/env bash
# The "left out the oldest messages" notices as a person sees them (issue 19): resuming a
# conversation longer than the context says how many of its messages the model sees; a turn that
# has to leave out more says so above the reply it made room for (not below it, where it read as
# the next reply's), counted against the whole conversation (it said "the 22 oldest" whatever
# the length).
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

conv="$E2E_DIR/long.json"
python3 - "$conv" <<'PY'
import json, sys
messages = []
for i in range(20):
    messages.append({"role": "user", "content": "Question %d about the law of Moses and the prophets" % i,
                     "time": "2026-12-03T10:00:00Z"})
    messages.append({"role": "assistant", "content": "And the LORD spake unto Moses, saying %d" % i,
                     "model": "kjv-demo", "time": "2026-12-03T10:00:01Z"})
json.dump({"format": "dschat-conversation", "version": 1, "id": "20261203-100000-cafe",
           "created": "2026-12-03T10:00:00Z", "updated": "2026-12-03T10:00:00Z",
           "model": {"path": "/m", "name": "kjv-demo"}, "title": "Long", "system": "",
           "messages": messages}, open(sys.argv[1], "w"))
PY

start_chat 160 50 --resume "$conv" --ctx 128 --temp 0
wait_loaded
wait_for 'the model sees the last [0-9]+ of its 40 messages' 10
type_line "/set parameter num_predict 20"
wait_for 'set num_predict to 20' 10
type_line "One more question"
wait_for '^  One more question' 10
wait_reply_done 40
wait_for 'left out the [0-9]+ oldest messages? still in it; the model sees the last [0-9]+ of the 41 messages' 10
# Order on screen: the question, the notice, then the reply's label.
question=$(screen | grep -n '^  One more question' | tail -1 | cut -d: -f1)
notice=$(screen | grep -n 'left out the' | tail -1 | cut -d: -f1)
label=$(screen | grep -n '^kjv-demo$' | tail -1 | cut -d: -f1)
[ -n "$question" ] && [ -n "$notice" ] && [ -n "$label" ] || fail "question/notice/label not all on screen"
[ "$question" -lt "$notice" ] && [ "$notice" -lt "$label" ] ||
  fail "the notice (row $notice) is not between the question (row $question) and its reply (row $label)"
keys C-d
wait_for '\[exit status 0\]' 10
stop_chat
echo PASS
