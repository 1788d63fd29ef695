#!/usr/bin/env bash
# SIGTERM, SIGHUP, and SIGINT twice during a reply: dschat stops the reply, keeps it
# (interrupted) in the autosaved conversation, restores the terminal and exits. (One SIGINT only
# stops the reply, like Ctrl+C.)
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

check_saved() {
  local file
  file=$(ls -t "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null | head -1)
  [ -n "$file" ] || fail "no conversation saved after $1"
  python3 - "$file" "$2" <<'PY' || fail "conversation after $1 is not as expected"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert m[-2]["content"] == sys.argv[2], m
assert m[-1]["role"] == "assistant" and m[-1].get("interrupted") is True, m[-1]
PY
}

start_chat 80 24
wait_loaded
set_long_replies
type_line "A question before SIGTERM"
wait_for 'replying \(Esc stops\)' 20
kill -TERM "$(chat_pid)"
wait_for '\[exit status 0\]' 10
screen | grep -q 'replying' && fail "the chat screen is still shown after exit (terminal not restored)"
check_saved SIGTERM "A question before SIGTERM"
stop_chat
rm -f "$XDG_DATA_HOME"/dschat/conversations/*.json

start_chat 80 24
wait_loaded
set_long_replies
type_line "A question before SIGHUP"
wait_for 'replying \(Esc stops\)' 20
kill -HUP "$(chat_pid)"
wait_for '\[exit status 0\]' 10
check_saved SIGHUP "A question before SIGHUP"
stop_chat
rm -f "$XDG_DATA_HOME"/dschat/conversations/*.json

start_chat 80 24
wait_loaded
set_long_replies
type_line "A question before SIGINT"
wait_for 'replying \(Esc stops\)' 20
kill -INT "$(chat_pid)"
wait_reply_done 10
kill -0 "$(chat_pid)" 2>/dev/null || fail "one SIGINT ended dschat (it should only stop the reply)"
kill -INT "$(chat_pid)"
wait_for '\[exit status 0\]' 10
screen | grep -q '^>>> ' && fail "the chat screen is still shown after exit (terminal not restored)"
check_saved "SIGINT twice" "A question before SIGINT"
echo PASS
