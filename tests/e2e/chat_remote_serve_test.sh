#!/usr/bin/env bash
# The dschat client against `dschat serve` on the bundled model: `dschat run --remote` and the
# chat in tmux stream the same greedy text as `dschat run --temp 0` on the local model, also with a
# stop string (sent as the request's `stop`, honoured by the server). Then the
# server is killed: mid-reply the partial reply is kept, and a message sent while it is down stays
# in the conversation file; once the server is back, /regen answers it.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"
model=$(cd "$(dirname "$0")/../../assets/model" && pwd)

SERVER_PID=
PORT=0
start_serve() {  # start_serve: on $PORT (0: a free one, then PORT is set to it)
  local i
  : > "$E2E_DIR/serve.log"  # exists before the background server opens it
  "$DSCHAT" serve --model "$model" --port "$PORT" 2>>"$E2E_DIR/serve.log" &
  SERVER_PID=$!
  for ((i = 0; i < 200; i++)); do
    local p
    p=$(sed -n 's|^dschat serve: listening on http://127.0.0.1:\([0-9]*\) (model .*)$|\1|p' "$E2E_DIR/serve.log")
    if [ -n "$p" ]; then
      PORT=$p
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$E2E_DIR/serve.log" >&2
  fail "dschat serve did not start on port $PORT"
}
kill_serve() {
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
}
stop_all() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  cleanup
}
trap stop_all EXIT
conversation_file() { find "$XDG_DATA_HOME" -name '*.json' 2>/dev/null | head -1; }
# last_messages N: the last N messages of the conversation file as "role: content" lines (JSON strings).
last_messages() {
  /usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["messages"]
for x in m[-int(sys.argv[2]):]: print(x["role"] + ": " + json.dumps(x["content"]) + (" [interrupted]" if x.get("interrupted") else ""))' \
    "$(conversation_file)" "$1"
}

# wait_last REGEX [SECONDS]: until the file's last message matches (grep -E).
wait_last() {
  local i
  for ((i = 0; i < ${2:-30} * 10; i++)); do
    [ -n "$(conversation_file)" ] && last_messages 1 2>/dev/null | grep -qE -- "$1" && return 0
    sleep 0.1
  done
  fail "the conversation file's last message is not /$1/: $(last_messages 2 2>&1)"
}

start_serve
prompt="Once upon a time"
local_reply=$("$DSCHAT" run --model "$model" --temp 0 -n 12 "$prompt" 2>"$E2E_DIR/run.err") ||
  fail "local dschat run failed: $(cat "$E2E_DIR/run.err")"
[ -n "$local_reply" ] || fail "the local greedy reply is empty"
remote_reply=$("$DSCHAT" run --remote "http://127.0.0.1:$PORT" --temp 0 -n 12 "$prompt" 2>"$E2E_DIR/run.err") ||
  fail "dschat run --remote failed: $(cat "$E2E_DIR/run.err")"
[ "$remote_reply" = "$local_reply" ] || fail "run --remote printed [$remote_reply], locally [$local_reply]"
echo "dschat run --remote = dschat run --temp 0: [$local_reply]"

# A stop string (the reply's second word) goes to the server as `stop`, which ends the reply there
# (its log says stop=stop), as it does locally.
stop_word=$(printf '%s' "$local_reply" | awk '{print $2; exit}')
[ -n "$stop_word" ] || fail "the greedy reply [$local_reply] has no second word"
local_stopped=$("$DSCHAT" run --model "$model" --temp 0 -n 12 --stop "$stop_word" "$prompt" 2>&1) ||
  fail "local dschat run --stop failed: $local_stopped"
remote_stopped=$("$DSCHAT" run --remote "http://127.0.0.1:$PORT" --temp 0 -n 12 --stop "$stop_word" "$prompt" 2>&1) ||
  fail "dschat run --remote --stop failed: $remote_stopped"
[ "$remote_stopped" = "$local_stopped" ] || fail "with --stop: remote [$remote_stopped], local [$local_stopped]"
case $local_stopped in *"$stop_word"*) fail "the stop string was printed: [$local_stopped]" ;; esac
# (The server logs a request after its last byte went out: the client may be done before that.)
for ((i = 0; i < 100; i++)); do
  grep -q 'POST /v1/chat/completions 200 .* stop=stop ' "$E2E_DIR/serve.log" && break
  sleep 0.05
done
grep -q 'POST /v1/chat/completions 200 .* stop=stop ' "$E2E_DIR/serve.log" ||
  fail "the server did not stop at the stop string: $(tail -1 "$E2E_DIR/serve.log")"
echo "--stop '$stop_word': [$local_stopped] here and there"

# The chat over --remote: the same greedy reply, streamed and saved.
start_chat 120 40 --remote "http://127.0.0.1:$PORT"
wait_for "remote: .* @ 127\.0\.0\.1:$PORT" 20
wait_for '^>>> ' 10
type_line "/set parameter temperature 0"
type_line "/set parameter num_predict 12"
wait_for 'set num_predict to 12' 10
type_line "$prompt"
wait_last '^assistant: ' 30
wait_reply_done 30
expected="assistant: $(/usr/bin/python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$local_reply")"
[ "$(last_messages 1)" = "$expected" ] || fail "the chat's reply is [$(last_messages 1)], expected [$expected]"
first_word=$(printf '%s' "$local_reply" | awk '{print $1; exit}')
screen | grep -qF -- "$first_word" || fail "the reply's first word '$first_word' is not on screen"
echo "chat --remote reply = dschat run --temp 0"

# The server dies mid-reply: the partial reply is kept (marked stopped) after the user message.
# (Greedy, after the turn above, this prompt runs to the token limit of 1000: ~1.3 s at the ~800
# tok/s the bundled model streams on a quiet 2-core machine. "And the LORD said", used before,
# ends at eos after 325 tokens, 0.4 s, sometimes before the kill.)
type_line "/set parameter num_predict 1000"
wait_for 'set num_predict to 1000' 10
type_line "And the LORD God said"
wait_for 'replying \(Esc stops\)' 10
sleep 0.2
kill_serve
wait_for 'partial reply is kept' 10
wait_reply_done 10
last_messages 2 | head -1 | grep -qx 'user: "And the LORD God said"' || fail "after the kill: $(last_messages 2)"
last_messages 1 | grep -q '\[interrupted\]$' || fail "the partial reply is not kept: $(last_messages 1)"

# While it is down a message fails, and stays (in the file) to resend.
type_line "are you still there"
wait_for 'cannot connect' 10
wait_for 'your message is kept: /regen sends it again' 5
wait_reply_done 10
[ "$(last_messages 1)" = 'user: "are you still there"' ] || fail "the failed message is not kept: $(last_messages 2)"

# The server is back on the same port: /regen sends it again.
start_serve
type_line "/set parameter num_predict 8"
wait_for 'set num_predict to 8' 10
type_line "/regen"
wait_last '^assistant: ' 30
wait_reply_done 30
last_messages 2 | head -1 | grep -qx 'user: "are you still there"' || fail "after /regen: $(last_messages 2)"
last_messages 1 | grep -q '^assistant: "' || fail "no reply after /regen: $(last_messages 1)"
last_messages 1 | grep -q '\[interrupted\]$' && fail "the resent reply is marked interrupted: $(last_messages 1)"
for ((i = 0; i < 100; i++)); do
  grep -q 'POST /v1/chat/completions 200' "$E2E_DIR/serve.log" && break
  sleep 0.05
done
grep -q 'POST /v1/chat/completions 200' "$E2E_DIR/serve.log" || fail "the restarted server answered nothing"
stop_chat
echo "PASS"
