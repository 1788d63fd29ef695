#!/usr/bin/env bash
# Under a non-UTF-8 locale (LC_ALL=C, LANG unset) the chat window still works in UTF-8: typed
# non-ASCII text shows as typed (not '?'), readline does not take its bytes for Meta keys
# ("(arg: 8)"), and the message reaches the conversation file exactly, first character included.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

E2E_ENV=(-u LANG -u LC_CTYPE LC_ALL=C)
start_chat 80 20
wait_loaded
type_line "/set parameter num_predict 4"
wait_for 'set num_predict to 4' 10
message='héllo wörld, ünïcödé 中文 ok'
tmx send-keys -t chat -l -- "$message"
wait_for ">>> $message" 5
screen | grep -q '(arg: ' && fail "readline took typed bytes for a numeric argument"
keys Enter
wait_for "^  $message\$" 10
wait_reply_done 20
type_line "plain ascii"
wait_for '^  plain ascii$' 10
wait_reply_done 20
stop_chat
file=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
/usr/bin/python3 - "$file" "$message" <<'PY' || fail "saved messages differ from what was typed"
import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))["messages"]
got = [x["content"] for x in m if x["role"] == "user"]
assert got == [sys.argv[2], "plain ascii"], got
PY
echo PASS
