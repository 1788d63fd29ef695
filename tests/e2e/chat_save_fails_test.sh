#!/usr/bin/env bash
# Autosave fails (the conversations directory is a file, so nothing can be created in it): the
# chat says why after the reply and goes on with the conversation in memory; once the obstacle
# is gone the next autosave writes the whole conversation, the earlier turn included. /save to a
# path inside a directory that does not exist fails with the reason too.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

conversations="$XDG_DATA_HOME/dschat/conversations"
mkdir -p "$XDG_DATA_HOME/dschat"
echo "not a directory" > "$conversations"

start_chat 250 40
wait_loaded
type_line "/set parameter num_predict 6"
type_line "First message"
wait_for '^  First message' 10
wait_reply_done 60
wait_for 'autosave failed: .*Not a directory.*kept in memory' 10
type_line "/save $E2E_DIR/missing/dir/file.json"
wait_for "cannot create a temporary file in $E2E_DIR/missing/dir" 10

rm "$conversations"
type_line "Second message"
wait_for '^  Second message' 10
wait_reply_done 60
kill -0 "$(chat_pid)" 2>/dev/null || fail "dschat died"
saved=$(ls "$conversations"/*.json 2>/dev/null | head -1)
[ -n "$saved" ] || fail "the conversation was not saved once the directory could be created"
python3 - "$saved" <<'PY' || fail "the saved conversation lost the turn whose autosave failed"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["content"] for x in m[0::2]] == ["First message", "Second message"], m
assert all(x["content"].strip() for x in m[1::2]), m
PY
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
