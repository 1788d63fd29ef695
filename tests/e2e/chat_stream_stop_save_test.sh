#!/usr/bin/env bash
# The chat in tmux: the load progress reaches 100%, a typed message gets a reply that grows over
# several screen captures, Ctrl+C stops it and the partial reply stays (marked [stopped]), /save
# writes a valid conversation file, Esc stops a reply too, /regen and /undo work, Ctrl+D leaves
# and the conversation was autosaved.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

# A tall, wide window, so the whole reply stays on screen while it grows.
start_chat 250 100
wait_loaded
wait_for '^>>> '
set_long_replies
type_line "Tell me a long story about the sea."
wait_for '^  Tell me a long story about the sea\.' 10

# The reply grows: its text gets longer across captures while the status says it is replying.
reply_length() { screen | sed -n '/^  Tell me a long story/,$p' | grep -vE '^ (model|dschat|.*\|)' | tr -d ' \n' | wc -c; }
wait_for 'replying \(Esc stops\)' 20
sizes=()
for i in 1 2 3 4; do
  sleep 0.2
  sizes+=("$(reply_length)")
done
echo "reply sizes over captures: ${sizes[*]}"
[ "${sizes[3]}" -gt "${sizes[0]}" ] || fail "the reply did not grow: ${sizes[*]}"
screen | grep -q 'replying (Esc stops)' || fail "the reply ended before Ctrl+C could stop it (num_predict 1000)"

keys C-c
wait_reply_done 10
wait_for '^  \[stopped\]' 5
partial=$(reply_length)
[ "$partial" -ge "${sizes[3]}" ] || fail "the partial reply shrank after stopping ($partial < ${sizes[3]})"

type_line "/save $E2E_DIR/saved.json"
wait_for 'saved to .*saved\.json' 10
python3 - "$E2E_DIR/saved.json" <<'PY' || fail "saved file is not a valid conversation"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "dschat-conversation", d.get("format")
m = d["messages"]
assert [x["role"] for x in m] == ["user", "assistant"], m
assert m[0]["content"] == "Tell me a long story about the sea."
assert m[1]["content"].strip(), "empty partial reply"
assert m[1].get("interrupted") is True, m[1]
print("saved conversation ok:", len(m[1]["content"]), "characters of reply kept")
PY

# Esc stops a reply too; /regen replaces it; /undo removes the exchange again. (A new
# conversation first, so the reply has the whole context to run in.)
type_line "/clear"
wait_for 'started a new conversation' 10
type_line "Another question"
wait_for '^  Another question' 10
wait_for 'replying \(Esc stops\)' 20
sleep 0.2
keys Escape
wait_reply_done 10
[ "$(screen | grep -c '^  \[stopped\]')" -ge 1 ] || fail "Esc did not stop the reply"
type_line "/set parameter num_predict 4"
type_line "/regen"
wait_for 'replying \(Esc stops\)|\| (eos|length|stop)$' 20
wait_reply_done 30
type_line "/undo"
wait_for 'removed the last exchange' 10
type_line "/save $E2E_DIR/after-undo.json"
wait_for 'saved to .*after-undo\.json' 10
python3 - "$E2E_DIR/after-undo.json" <<'PY' || fail "/regen + /undo left the wrong messages"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert m == [], m
PY

keys C-d
wait_for '\[exit status 0\]' 10
ls "$XDG_DATA_HOME"/dschat/conversations/*.json >/dev/null 2>&1 || fail "no autosaved conversation"
[ "$(stat -c %a "$XDG_STATE_HOME/dschat/history")" = 600 ] || fail "history file is not mode 0600"
grep -q 'Tell me a long story' "$XDG_STATE_HOME/dschat/history" || fail "the prompt is not in the history"
echo PASS
