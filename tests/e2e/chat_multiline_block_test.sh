#!/usr/bin/env bash
# """ blocks in the window: the lines already entered stay visible while the block is typed, and
# `/set system """You are` opens a block whose content becomes the system prompt (nothing is sent
# to the model).
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 80 20
wait_loaded
type_line '/set system """You are'
type_line 'a careful scribe.'
wait_for '^>>> /set system """You are$' 5
wait_for '^\.\.\. a careful scribe\.$' 5
wait_for '^\.\.\. *$' 5
type_line '"""'
wait_for 'set the system prompt' 10
screen | grep -qE '^You$' && fail "the block was sent to the model as a message"
type_line '/show system'
wait_for '^You are$' 10
wait_for '^a careful scribe\.$' 10
# A block for a message: three lines, all visible before it is sent, then sent as one message.
type_line '/set parameter num_predict 3'
type_line '"""first'
type_line 'second'
wait_for '^>>> """first$' 5
wait_for '^\.\.\. second$' 5
type_line 'third"""'
wait_for '^You$' 10
wait_reply_done 20
stop_chat
file=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
/usr/bin/python3 - "$file" <<'PY' || fail "saved conversation wrong"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["system"] == "You are\na careful scribe.", c["system"]
assert [x["content"] for x in c["messages"] if x["role"] == "user"] == ["first\nsecond\nthird"], c["messages"]
PY
echo PASS
