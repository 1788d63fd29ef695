#!/usr/bin/env bash
# Input during a reply: a message sent while a reply streams goes out when the reply ends by
# itself; it shows as queued under the reply; /show runs at once and /undo waits, visibly; Up takes the
# queued entry back into the input; Esc stops the reply and takes the queued message back (it is
# not sent); after Ctrl+C a queued message stays held until Enter on an empty line sends it.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 120 50
wait_loaded
wait_for '^>>> '
set_long_replies
# User messages in the autosaved conversation (saved after every turn).
users() {
  python3 -c 'import json,glob,sys; f=sorted(glob.glob(sys.argv[1]+"/*.json")); print(sum(m["role"]=="user" for m in json.load(open(f[-1]))["messages"]) if f else 0)' \
    "$XDG_DATA_HOME/dschat/conversations"
}

# 1. A message sent right behind another waits for its reply to end by itself, then goes out
#    (typed in the same instant, so it is queued whatever the machine's speed; short replies).
type_line "/set parameter num_predict 40"
wait_for 'set num_predict to 40' 10
type_line "Tell me about the sea."
type_line "And the mountains?"
wait_for '^  And the mountains\?$' 30
wait_reply_done 30
sleep 0.5
python3 -c '
import json, glob, sys
f = sorted(glob.glob(sys.argv[1] + "/*.json"))[-1]
m = json.load(open(f))["messages"]
assert [x["role"] for x in m] == ["user", "assistant"] * 2, [x["role"] for x in m]
assert m[0]["content"] == "Tell me about the sea." and m[2]["content"] == "And the mountains?", m
assert not m[1].get("interrupted"), m[1]
' "$XDG_DATA_HOME/dschat/conversations" || fail "the queued message did not wait for the whole first reply"
type_line "/set parameter num_predict 1000"
wait_for 'set num_predict to 1000' 10

# 2. Read-only commands run during a reply; the others wait; Up takes one back; Esc stops the
#    reply and takes the queued message back into the input, sending nothing.
type_line "Tell me a long story."
wait_for 'replying \(Esc stops\)' 20
type_line "/show parameters"
wait_for 'temperature 100$' 5
screen | grep -q 'replying (Esc stops)' || fail "the reply ended before /show could be tried during it"
type_line "What then?"
type_line "/undo"
wait_for '^  queued: /undo$' 5
screen | grep -q '^  queued: What then?$' || fail "the first queued message is not shown"
screen | grep -q '(sent when the reply ends; Up takes it back to edit)' || fail "no note under the queued messages"
screen | grep -q '^  What then?$' && fail "a queued message was sent during the reply"
# Drawn apart from the conversation: the queued lines in the notice colour (the SGR in force
# where they begin sets foreground 35), the note under them dim (SGR 2).
tmx capture-pane -p -e -t chat > "$E2E_DIR/attrs"
python3 - "$E2E_DIR/attrs" <<'PY' || fail "the queue is not drawn in its own attributes"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
def sgr_before(needle):
    at = text.index(needle)
    codes = []
    for m in re.finditer(r"\x1b\[([0-9;]*)m", text[:at]):
        codes = [] if m.group(1) in ("", "0") else codes + m.group(1).split(";")
    return codes
q, note = sgr_before("queued: What then?"), sgr_before("(sent when the reply ends")
last = lambda codes, c: max([i for i, x in enumerate(codes) if x == c], default=-1)
assert last(q, "35") > last(q, "39"), q
assert "2" in note, note
print("queued line SGR", q, "note SGR", note)
PY
keys Up
wait_for '^>>> /undo' 5
wait_gone '^  queued: /undo$' 5
keys C-u
wait_gone '^>>> /undo' 5
keys Escape
wait_reply_done 10
wait_for '^  \[stopped\]' 5
wait_for '^>>> What then\?' 5
wait_gone 'queued: What then' 5
sleep 1
[ "$(users)" = 3 ] || fail "a queued message was sent after Esc (user messages: $(users))"
screen | grep -q 'removed the last exchange' && fail "the /undo taken back was run"
keys C-u

# 3. Ctrl+C stops the reply; what is queued is held, shown as not sent, and goes out on Enter.
type_line "One more story."
wait_for 'replying \(Esc stops\)' 20
type_line "Held message"
wait_for '^  queued: Held message$' 5
keys C-c
wait_reply_done 10
wait_for '\(not sent: Enter on an empty line sends, Up or Esc takes it back to edit\)' 5
sleep 1
screen | grep -q '^  queued: Held message$' || fail "the held message vanished"
[ "$(users)" = 4 ] || fail "the held message was sent by itself (user messages: $(users))"
keys Enter
wait_for '^  Held message$' 10
wait_gone 'queued: Held message' 5
wait_for 'replying \(Esc stops\)' 20
keys Escape
wait_reply_done 10
[ "$(users)" = 5 ] || fail "expected five user messages, saw $(users)"
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat
echo PASS
