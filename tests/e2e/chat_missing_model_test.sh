#!/usr/bin/env bash
# A missing model directory: the window shows a clear error naming the directory and stays
# usable (/bye leaves); in line mode (no terminal) it is an error on stderr with status 1.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 80 24 --model "$E2E_DIR/no-such-model"
wait_for 'Cannot load the model: .*no-such-model' 15
wait_for 'no model loaded' 5
type_line "hello?"
wait_for 'not sent: no model is loaded' 5
type_line "/bye"
wait_for '\[exit status 0\]' 10

set +e
echo hello | "$DSCHAT" --model "$E2E_DIR/no-such-model" > "$E2E_DIR/out" 2> "$E2E_DIR/err"
status=$?
set -e
[ "$status" -eq 1 ] || fail "line mode exit status $status, expected 1"
grep -q 'no-such-model' "$E2E_DIR/err" || fail "line mode error does not name the directory: $(cat "$E2E_DIR/err")"
echo PASS
