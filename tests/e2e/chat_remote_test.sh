#!/usr/bin/env bash
# The chat and `dschat run` over --remote, against tests/e2e/fake_openai_server.py: a streamed
# reply shows, a connection dropped mid-reply keeps the partial reply (marked stopped), an HTTP 500
# shows the server's message and keeps the user's message (in the file too) for /regen to resend,
# the next turn works again, and the conversation
# file keeps every turn with the endpoint and model. The API key goes in the Authorization header
# and nowhere else (conversation files, history).
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

SERVER_PIDS=()
start_server() {  # start_server NAME MODES: sets PORT
  local name=$1 i
  /usr/bin/python3 "$(dirname "$0")/fake_openai_server.py" "$E2E_DIR/$name.port" "$E2E_DIR/$name.log" "$2" &
  SERVER_PIDS+=($!)
  for ((i = 0; i < 100; i++)); do
    [ -s "$E2E_DIR/$name.port" ] && break
    sleep 0.1
  done
  PORT=$(cat "$E2E_DIR/$name.port") || fail "the fake server did not start"
}
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  cleanup
}
trap stop_servers EXIT

export FAKE_KEY="sk-e2e-7d1c-SECRET"

# dschat run: one reply on stdout; an HTTP error is exit status 1 with the server's message.
start_server run ok,500
out=$("$DSCHAT" run --remote "http://127.0.0.1:$PORT/v1/" --api-key-env FAKE_KEY "say hi" 2>"$E2E_DIR/run.err") ||
  fail "dschat run --remote failed: $(cat "$E2E_DIR/run.err")"
[ "$out" = "echo: say hi" ] || fail "dschat run --remote printed '$out'"
"$DSCHAT" run --remote "http://127.0.0.1:$PORT" "again" >/dev/null 2>"$E2E_DIR/run.err"
status=$?
[ "$status" -eq 1 ] || fail "dschat run against HTTP 500 exited with $status"
grep -q 'HTTP 500: fake engine exploded' "$E2E_DIR/run.err" || fail "run error: $(cat "$E2E_DIR/run.err")"
"$DSCHAT" run --remote "http://127.0.0.1:$PORT" --remote-model nope "x" >/dev/null 2>"$E2E_DIR/run.err"
grep -q "'nope' is not served .*; it serves: fake-deepseek" "$E2E_DIR/run.err" || fail "unknown model: $(cat "$E2E_DIR/run.err")"
"$DSCHAT" run --remote "http://127.0.0.1:$PORT" --api-key-env UNSET_VAR_E2E "x" >/dev/null 2>"$E2E_DIR/run.err"
[ $? -eq 2 ] && grep -q 'UNSET_VAR_E2E is not set' "$E2E_DIR/run.err" || fail "unset key variable: $(cat "$E2E_DIR/run.err")"
echo "dschat run --remote ok"

# The chat: ok, drop, 500, ok.
start_server chat ok,drop,500,ok
start_chat 160 40 --remote "http://127.0.0.1:$PORT" --api-key-env FAKE_KEY
wait_for "remote: fake-deepseek @ 127\.0\.0\.1:$PORT" 20
wait_for '^>>> ' 10
type_line "hello there friend"
wait_for '^  echo: hello there friend' 10
wait_reply_done 10

type_line "second message here"
wait_for 'partial reply is kept' 10
wait_for '^  \[stopped\]' 5
screen | grep -q '^  echo: second' || fail "the partial reply is not on screen"

# A 500: the message stays (in the file too), a new one is refused until /regen resends it.
type_line "third one fails"
wait_for 'HTTP 500: fake engine exploded' 10
wait_for 'your message is kept: /regen sends it again' 5
wait_reply_done 10
file=$(find "$XDG_DATA_HOME" -name '*.json' | head -1)
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["messages"]; assert m[-1]=={**m[-1],"role":"user","content":"third one fails"}, m[-1]' "$file" ||
  fail "the message of the failed turn is not the last in the conversation file"
type_line "not yet"
wait_for 'the last message has no reply yet: /regen sends it again' 10
type_line "/regen"
wait_for '^  echo: third one fails' 10
wait_reply_done 10

type_line "fourth works"
wait_for '^  echo: fourth works' 10
wait_reply_done 10
type_line "/show info"
wait_for "remote engine: http://127\.0\.0\.1:$PORT/v1" 10
stop_chat

file=$(find "$XDG_DATA_HOME" -name '*.json' | head -1)
[ -n "$file" ] || fail "no conversation was autosaved"
/usr/bin/python3 - "$file" "$PORT" <<'PY' || fail "the conversation file is not as expected"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["model"] == {"path": "http://127.0.0.1:%s/v1" % sys.argv[2], "name": "fake-deepseek"}, d["model"]
m = [(x["role"], x["content"], x.get("interrupted", False)) for x in d["messages"]]
assert m == [("user", "hello there friend", False), ("assistant", "echo: hello there friend", False),
             ("user", "second message here", False), ("assistant", "echo: second", True),
             ("user", "third one fails", False), ("assistant", "echo: third one fails", False),
             ("user", "fourth works", False), ("assistant", "echo: fourth works", False)], m
print("conversation file ok:", len(m), "messages")
PY
# What the server received: the key in the header, the whole conversation in the body.
/usr/bin/python3 - "$E2E_DIR/chat.log" <<'PY' || fail "the requests are not as expected"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
posts = [r for r in reqs if r["method"] == "POST"]
assert len(posts) == 5, len(posts)
assert all(r["authorization"] == "Bearer sk-e2e-7d1c-SECRET" for r in reqs), reqs
resent = json.loads(posts[3]["body"])  # /regen after the 500: the kept message again
assert resent["messages"] == json.loads(posts[2]["body"])["messages"], resent["messages"]
last = json.loads(posts[4]["body"])
assert [x["content"] for x in last["messages"]] == ["hello there friend", "echo: hello there friend",
    "second message here", "echo: second", "third one fails", "echo: third one fails", "fourth works"], last["messages"]
assert last["stream"] is True and last["stream_options"] == {"include_usage": True}
print("requests ok")
PY
if grep -rqs "$FAKE_KEY" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" "$HOME" "$E2E_DIR/stderr"; then
  fail "the API key was written to a file"
fi
echo "PASS"
