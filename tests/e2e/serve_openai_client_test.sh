#!/bin/sh
# The official openai npm package (tests/e2e/openai_client/, installed into the build tree by the
# CTest fixture e2e.openai_client_setup: npm ci from the committed package-lock.json) against
# dschat serve on the bundled model.
#   serve_openai_client_test.sh PATH/TO/dschat      ($OPENAI_CLIENT_DIR: where npm ci put it)
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
client_dir=${OPENAI_CLIENT_DIR:?set by tests/CMakeLists.txt}
[ -d "$client_dir/node_modules/openai" ] || { echo "serve_openai_client_test: no openai package in $client_dir (run the e2e.openai_client_setup test)" >&2; exit 1; }
cp "$here/openai_client/client_test.mjs" "$client_dir/"
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
: > "$tmp/log"  # exists before the background server opens it: the poll below reads it at once

OPENAI_TEST_KEY=k-0123 "$dschat" serve --model "$here/../../assets/model" --port 0 --api-key-env OPENAI_TEST_KEY 2> "$tmp/log" &
pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's|^dschat serve: listening on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$tmp/log")
  [ -n "$port" ] && break
  sleep 0.05
done
if [ -z "$port" ] || ! node "$client_dir/client_test.mjs" "http://127.0.0.1:$port/v1" k-0123; then
  echo "serve_openai_client_test: failed; server log:" >&2
  cat "$tmp/log" >&2
  exit 1
fi
kill -TERM "$pid"
wait "$pid"
pid=
