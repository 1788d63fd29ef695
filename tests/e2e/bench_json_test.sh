#!/bin/sh
# `dschat bench --json` on the bundled model: one JSON object with exactly the keys DESIGN.md
# names, positive speeds, the requested token counts and type; bad options fail with a message.
#   bench_json_test.sh PATH/TO/dschat
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
model=$here/../../assets/model
fail() { echo "bench_json_test: $*" >&2; exit 1; }

for type in q8_0 q4_0 bf16; do
  out=$("$dschat" bench --model "$model" -p 8 -n 4 -r 2 -t 1 --type "$type" --json) || fail "bench --type $type failed"
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "expected one line, got: $out"
  keys=$(printf '%s' "$out" | grep -o '"[a-z_]*":' | tr -d '":' | tr '\n' ' ')
  [ "$keys" = "type threads prefill_tokens decode_tokens prefill_tps prefill_tps_sd decode_tps decode_tps_sd load_s peak_rss_bytes " ] ||
    fail "keys differ: $keys"
  printf '%s' "$out" | grep -q "\"type\": \"$type\"" || fail "type not reported: $out"
  printf '%s' "$out" | grep -q '"prefill_tokens": 8, "decode_tokens": 4' || fail "token counts: $out"
  printf '%s' "$out" | grep -Eq '"prefill_tps": [1-9][0-9]*\.' || fail "prefill speed not positive: $out"
  printf '%s' "$out" | grep -Eq '"decode_tps": [1-9][0-9]*\.' || fail "decode speed not positive: $out"
  printf '%s' "$out" | grep -Eq '"peak_rss_bytes": [1-9][0-9]{6,}\}' || fail "peak RSS missing: $out"
done

if err=$("$dschat" bench --model "$model" --type q3_k 2>&1); then fail "unknown --type accepted"; fi
printf '%s' "$err" | grep -q "q3_k" || fail "error does not name the bad type: $err"
if err=$("$dschat" bench --model "$here/no-such-model" 2>&1); then fail "missing model accepted"; fi
printf '%s' "$err" | grep -q "no-such-model" || fail "error does not name the model: $err"
echo "bench_json_test: ok"
