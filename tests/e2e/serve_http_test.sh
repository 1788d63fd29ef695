#!/bin/sh
# dschat serve on the bundled model, through curl: non-streaming and streaming chat (SSE framed
# as OpenAI's), completions, /v1/models, /health; the streamed greedy text equals `dschat run
# --temp 0` on the same prompt; a client that disconnects mid-stream does not hold up the next
# request, and one that disconnects from a non-streaming request cancels its generation;
# 400/401/404/413 answer with OpenAI error objects; SIGTERM exits 0.
#   serve_http_test.sh PATH/TO/dschat
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
model=$here/../../assets/model
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
: > "$tmp/log"  # exists before the background server opens it: the poll below reads it at once
fail() {
  echo "serve_http_test: $*" >&2
  echo "--- server log:" >&2
  cat "$tmp/log" >&2 || true
  exit 1
}

SERVE_TEST_KEY=sekrit-key-123 "$dschat" serve --model "$model" --port 0 --parallel 2 --api-key-env SERVE_TEST_KEY \
  2> "$tmp/log" &
pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's|^dschat serve: listening on http://127.0.0.1:\([0-9]*\) (model .*)$|\1|p' "$tmp/log")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited before listening"
  sleep 0.05
done
[ -n "$port" ] || fail "no 'listening on' line"
base=http://127.0.0.1:$port
auth="Authorization: Bearer sekrit-key-123"

# status BODYFILE METHOD PATH [curl args...]: prints the HTTP status
status() {
  out=$1 method=$2 path=$3
  shift 3
  curl -sS -o "$out" -w '%{http_code}' -X "$method" "$@" "$base$path"
}
json_get() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

[ "$(status "$tmp/h" GET /health)" = 200 ] || fail "/health"
[ "$(json_get "$tmp/h" 'd["status"]')" = ok ] || fail "/health body: $(cat "$tmp/h")"
[ "$(status "$tmp/m" GET /v1/models -H "$auth")" = 200 ] || fail "/v1/models"
[ "$(json_get "$tmp/m" 'd["object"]+" "+str(len(d["data"]))')" = "list 1" ] || fail "/v1/models body: $(cat "$tmp/m")"

prompt="Once upon a time"
body="{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}],\"temperature\":0,\"max_tokens\":8}"
[ "$(status "$tmp/c" POST /v1/chat/completions -H "$auth" -d "$body")" = 200 ] || fail "chat: $(cat "$tmp/c")"
[ "$(json_get "$tmp/c" 'd["object"]')" = chat.completion ] || fail "chat object: $(cat "$tmp/c")"
[ "$(json_get "$tmp/c" 'd["usage"]["completion_tokens"] <= 8 and d["usage"]["total_tokens"] == d["usage"]["prompt_tokens"] + d["usage"]["completion_tokens"]')" = True ] ||
  fail "usage: $(cat "$tmp/c")"
json_get "$tmp/c" 'd["timings"]["predicted_n"]' > /dev/null || fail "no timings: $(cat "$tmp/c")"

# Streaming, with usage: every event is "data: {json}" + a blank line; role first, finish_reason
# last, a usage chunk with no choices, then [DONE].
sbody="{\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}],\"temperature\":0,\"max_tokens\":8,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
[ "$(status "$tmp/s" POST /v1/chat/completions -H "$auth" -d "$sbody")" = 200 ] || fail "stream: $(cat "$tmp/s")"
/usr/bin/python3 - "$tmp/s" "$tmp/c" "$tmp/streamed" <<'PY' || fail "SSE framing: $(cat "$tmp/s")"
import json, sys
raw = open(sys.argv[1], encoding="utf-8").read()
events = raw.split("\n\n")
assert events[-1] == "", "ends with a blank line"
events = events[:-1]
assert events[-1] == "data: [DONE]", events[-1]
chunks = []
for e in events[:-1]:
    assert e.startswith("data: ") and "\n" not in e, repr(e)
    chunks.append(json.loads(e[6:]))
assert all(c["object"] == "chat.completion.chunk" for c in chunks)
assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
usage = chunks[-1]
assert usage["choices"] == [] and usage["usage"]["completion_tokens"] <= 8, usage
last = chunks[-2]["choices"][0]
assert last["finish_reason"] in ("stop", "length"), last
assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
whole = json.load(open(sys.argv[2]))["choices"][0]["message"]["content"]
assert text.rstrip() == whole, (text, whole)
open(sys.argv[3], "w", encoding="utf-8").write(text)
PY

# The streamed greedy reply is what `dschat run --temp 0` prints.
"$dschat" run --model "$model" --temp 0 -n 8 "$prompt" > "$tmp/run" 2> /dev/null
printf '\n' >> "$tmp/streamed"
if ! cmp -s "$tmp/streamed" "$tmp/run"; then
  printf 'streamed: [%s]\nrun: [%s]\n' "$(cat "$tmp/streamed")" "$(cat "$tmp/run")" >&2
  fail "streamed text differs from dschat run"
fi

# Completions: raw prompt, no template.
[ "$(status "$tmp/t" POST /v1/completions -H "$auth" -d '{"prompt":"The cat","max_tokens":4,"temperature":0}')" = 200 ] ||
  fail "completions: $(cat "$tmp/t")"
[ "$(json_get "$tmp/t" 'd["object"]')" = text_completion ] || fail "completion object: $(cat "$tmp/t")"

# Errors: OpenAI error objects.
[ "$(status "$tmp/e" POST /v1/chat/completions -d "$body")" = 401 ] || fail "no key: not 401"
[ "$(status "$tmp/e" POST /v1/chat/completions -H "Authorization: Bearer wrong" -d "$body")" = 401 ] || fail "wrong key: not 401"
[ "$(json_get "$tmp/e" 'd["error"]["code"]')" = invalid_api_key ] || fail "401 body: $(cat "$tmp/e")"
[ "$(status "$tmp/e" POST /v1/chat/completions -H "$auth" -d '{"messages":')" = 400 ] || fail "bad JSON: not 400"
[ "$(json_get "$tmp/e" 'd["error"]["type"]')" = invalid_request_error ] || fail "400 body: $(cat "$tmp/e")"
[ "$(status "$tmp/e" POST /v1/chat/completions -H "$auth" -d '{"messages":[{"role":"robot","content":"x"}]}')" = 400 ] ||
  fail "unknown role: not 400"
[ "$(json_get "$tmp/e" 'd["error"]["param"]')" = "messages[0].role" ] || fail "400 param: $(cat "$tmp/e")"
[ "$(status "$tmp/e" GET /v1/nothing -H "$auth")" = 404 ] || fail "unknown route: not 404"
json_get "$tmp/e" 'd["error"]["message"]' > /dev/null || fail "404 body: $(cat "$tmp/e")"
head -c 5000000 /dev/zero | tr '\0' 'a' > "$tmp/big"
[ "$(status "$tmp/e" POST /v1/completions -H "$auth" --data-binary @"$tmp/big")" = 413 ] || fail "5 MB body: not 413"

# Disconnect mid-stream: a long generation whose client goes after the first bytes; the next
# request (one context left busy would make it wait) is answered at once.
# (Greedy, this prompt runs to the token limit: ~10 s of generation on the bundled model.)
long='{"prompt":"And the LORD said","max_tokens":1000,"temperature":0,"stream":true}'
for _ in 1 2; do
  curl -sS -N --max-time 0.5 -H "$auth" -d "$long" "$base/v1/completions" > /dev/null 2>&1 || true
done
start=$(date +%s%N)
[ "$(status "$tmp/c2" POST /v1/chat/completions -H "$auth" -d "$body" --max-time 20)" = 200 ] || fail "after disconnect"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "serve_http_test: request after two disconnects answered in $ms ms"
[ "$(grep -c 'stop=client gone' "$tmp/log")" = 2 ] || fail "the disconnected generations were not cancelled"

# A non-streaming client that goes cancels its generation too (the server peeks at the socket
# between pieces): logged as such within seconds, far short of the 1000 tokens asked for.
nlong='{"prompt":"And the LORD said","max_tokens":1000,"temperature":0}'
curl -sS --max-time 0.5 -H "$auth" -d "$nlong" "$base/v1/completions" > /dev/null 2>&1 || true
for _ in $(seq 1 100); do
  [ "$(grep -c 'stop=client gone' "$tmp/log")" = 3 ] && break
  sleep 0.05
done
gone=$(grep 'stop=client gone' "$tmp/log" | tail -1)
case $gone in
  *"POST /v1/completions 200 prompt="*" completion="*) ;;
  *) fail "the disconnected non-streaming generation was not cancelled" ;;
esac
completion=$(printf '%s\n' "$gone" | sed -n 's/.* completion=\([0-9]*\) .*/\1/p')
[ -n "$completion" ] && [ "$completion" -lt 1000 ] || fail "cancelled after $completion tokens: $gone"
echo "serve_http_test: non-streaming disconnect cancelled after $completion tokens"

# The key never appears in the log.
if grep -q sekrit "$tmp/log"; then fail "the API key is in the log"; fi
grep -q 'POST /v1/chat/completions 200 prompt=' "$tmp/log" || fail "no access log line"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
echo "serve_http_test: ok"
