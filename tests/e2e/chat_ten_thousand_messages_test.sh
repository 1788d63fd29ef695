#!/usr/bin/env bash
# A conversation file of 10,000 messages resumed in the chat: it opens within seconds, typing
# echoes promptly, a new message gets a reply (the oldest turns left out of the context), and
# the autosaved file (in the conversations directory; the resumed file is left as it was) keeps
# all 10,002 messages.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

python3 - "$E2E_DIR/big.json" <<'PY'
import json, sys
messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "message %d %s" % (i, "word " * 10),
             "time": "2026-11-22T10:00:00Z"} for i in range(10000)]
json.dump({"format": "dschat-conversation", "version": 1, "id": "20261122-100000-beef",
           "created": "2026-11-22T10:00:00Z", "updated": "2026-11-22T10:00:00Z", "messages": messages},
          open(sys.argv[1], "w"))
PY

start_chat 100 30 --resume "$E2E_DIR/big.json"
# The last message on screen (the "resumed" notice is transient: the status line may already
# show something else when the screen is read).
wait_for '^  message 9999 word' 60
tmx send-keys -t chat -l -- "abc"
wait_for '^>>> abc' 5
keys C-u
type_line "/set parameter num_predict 5"
type_line "hello after ten thousand"
wait_for '^  hello after ten thousand' 20
wait_reply_done 60
wait_for 'prompt .* tokens \([0-9]+ cached\)' 10
keys C-d
wait_for '\[exit status 0\]' 20
saved=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null | head -1)
[ -n "$saved" ] || fail "no autosaved conversation"
python3 - "$saved" <<'PY' || fail "the autosaved conversation lost messages"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert len(m) == 10002, len(m)
assert m[9999]["content"].startswith("message 9999 "), m[9999]
assert m[10000]["content"] == "hello after ten thousand", m[10000]
PY
echo PASS
