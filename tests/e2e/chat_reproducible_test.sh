#!/usr/bin/env bash
# /set parameter temperature 0 makes replies reproducible: the same prompt twice (after /clear)
# gives the same reply.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 80 24
wait_loaded
type_line "/set parameter temperature 0"
wait_for 'set temperature to 0' 5
type_line "/set parameter num_predict 24"
type_line "In the beginning"
wait_for '^  In the beginning' 10
wait_reply_done 40
type_line "/save $E2E_DIR/first.json"
wait_for 'saved to .*first\.json' 10
type_line "/clear"
wait_for 'started a new conversation' 5
type_line "In the beginning"
wait_for '^  In the beginning' 10
wait_reply_done 40
type_line "/save $E2E_DIR/second.json"
wait_for 'saved to .*second\.json' 10
python3 - "$E2E_DIR/first.json" "$E2E_DIR/second.json" <<'PY' || fail "replies differ at temperature 0"
import json, sys
a, b = (json.load(open(p))["messages"][1]["content"] for p in sys.argv[1:3])
assert a.strip(), "empty reply"
assert a == b, (a, b)
print("same reply twice:", repr(a[:60]))
PY
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
