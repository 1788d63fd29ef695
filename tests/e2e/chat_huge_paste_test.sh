#!/usr/bin/env bash
# A 1 MB bracketed paste into the chat's input: dschat stays responsive, Enter sends it, the
# answer is a clear "does not fit in the context" error, nothing is added to the conversation,
# and the next message works.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

python3 -c "import sys; sys.stdout.write(('lorem ipsum dolor sit amet ' * 40000)[:1 << 20])" > "$E2E_DIR/paste.txt"
start_chat 100 30
wait_loaded
tmx load-buffer -b big "$E2E_DIR/paste.txt"
tmx paste-buffer -p -b big -t chat
wait_for 'lorem ipsum dolor sit amet' 30
keys Enter
wait_for 'does not fit in the context' 120
kill -0 "$(chat_pid)" 2>/dev/null || fail "dschat died after a 1 MB paste"
type_line "/set parameter num_predict 4"
type_line "A short one"
wait_for '^  A short one' 20
wait_reply_done 60
keys C-d
wait_for '\[exit status 0\]' 20
saved=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null | head -1)
[ -n "$saved" ] || fail "no autosaved conversation"
python3 - "$saved" <<'PY' || fail "the saved conversation is not as expected"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["content"] for x in m[0::2]] == ["A short one"], [x["content"][:40] for x in m]
PY
echo PASS
