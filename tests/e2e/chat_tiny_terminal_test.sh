#!/usr/bin/env bash
# A 20x5 terminal (the smallest dschat lays out: 3 transcript rows, status, input) is usable: the
# model loads, a message longer than the width is typed and answered, nothing is drawn past the
# edge, and the conversation is saved whole. Growing the window shows the same conversation.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

message="Tell me a story about a lighthouse keeper and the sea"
conversation_file() { ls "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null | head -1; }

start_chat 20 5
wait_for 'ctx 0/' 40  # the status line once the model has loaded
[ "$(screen | grep -c 'Terminal too small')" -eq 0 ] || fail "20x5 should be laid out, not refused"
type_line "/set parameter num_predict 12"
wait_for 'set num_predict' 10
type_line "$message"
# The autosave after the reply is the sign it is done (the status line is too narrow for more).
for ((i = 0; i < 600; i++)); do
  file=$(conversation_file)
  [ -n "$file" ] && python3 -c "import json,sys; sys.exit(len(json.load(open(sys.argv[1]))['messages']) != 2)" "$file" \
    2>/dev/null && break
  kill -0 "$(chat_pid)" 2>/dev/null || fail "dschat died in a 20x5 terminal"
  sleep 0.1
done
[ -n "$(conversation_file)" ] || fail "no reply saved within 60 s"
too_wide=$(screen | awk 'length($0) > 20' | wc -l)
[ "$too_wide" -eq 0 ] || fail "$too_wide rows wider than 20 columns"
wait_for 'tok/s' 10  # the reply's statistics, the last rows of the transcript
screen | grep -qE '^>>> ' || fail "no input prompt at 20x5"

python3 - "$(conversation_file)" "$message" <<'PY' || fail "the saved conversation is not complete"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["role"] for x in m] == ["user", "assistant"], m
assert m[0]["content"] == sys.argv[2], m[0]
assert m[1]["content"].strip(), m[1]
PY

tmx resize-window -t chat -x 100 -y 30
wait_for "^  $message\$" 5
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
