#!/bin/sh
# A weight file written in place (same size) while a command other than the chat computes with it
# (here `dschat bench`): the command ends with an error naming the file and a non-zero status
# (app/cli/main.cpp), although its model is gone by then (MappedFile::changed_file_since_start).
#   command_model_file_changed_test.sh PATH/TO/dschat
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/dschat-changed.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "command_model_file_changed_test: $*" >&2; exit 1; }

cp -r "$here/../../assets/model" "$dir/model"
weights=$dir/model/model.safetensors
touch -d '1 hour ago' "$weights"  # as downloaded a while ago (a write in the same tick keeps the time)
# The first byte of tensor data: 8 + the header's length (little-endian u64 at the start).
offset=$((8 + $(od -An -tu8 -N8 "$weights" | tr -d ' ')))

"$dschat" bench --model "$dir/model" -p 64 -n 64 -r 20 -t 1 >"$dir/out" 2>"$dir/err" &
pid=$!
i=0
until grep -q "$weights" "/proc/$pid/maps" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -lt 600 ] || fail "the weights were never mapped"
  kill -0 "$pid" 2>/dev/null || fail "bench ended before mapping the weights: $(cat "$dir/err")"
  sleep 0.05
done
kill -0 "$pid" 2>/dev/null || fail "bench ended too soon to test anything"
printf 'Z' | dd of="$weights" bs=1 seek="$offset" conv=notrunc status=none
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -ne 0 ] || fail "bench exited 0 after its weight file changed under it"
grep -q "$weights was modified in place" "$dir/err" || fail "no error naming the file: $(cat "$dir/err")"
grep -q "results are not valid" "$dir/err" || fail "the error does not say the results are invalid: $(cat "$dir/err")"
echo "command_model_file_changed_test: ok (status $status: $(head -c 200 "$dir/err"))"
