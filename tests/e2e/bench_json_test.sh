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
  [ "$keys" = "type threads prefill_tokens decode_tokens prefill_tps prefill_tps_sd decode_tps decode_tps_sd load_s peak_rss_bytes depth cache_type cache_bytes_per_token decode_weight_bytes_per_token decode_cache_bytes_per_token decode_gb_per_s " ] ||
    fail "keys differ: $keys"
  printf '%s' "$out" | grep -q "\"type\": \"$type\"" || fail "type not reported: $out"
  printf '%s' "$out" | grep -q '"prefill_tokens": 8, "decode_tokens": 4' || fail "token counts: $out"
  printf '%s' "$out" | grep -Eq '"prefill_tps": [1-9][0-9]*\.' || fail "prefill speed not positive: $out"
  printf '%s' "$out" | grep -Eq '"decode_tps": [1-9][0-9]*\.' || fail "decode speed not positive: $out"
  printf '%s' "$out" | grep -Eq '"peak_rss_bytes": [1-9][0-9]{6,},' || fail "peak RSS missing: $out"
done

# --depth and --cache-type: the bundled model has 4 layers of kv_lora 64 and rope 16, so an fp8
# cache takes 4 x (64 E4M3 bytes + one F32 scale + 16 BF16) = 400 bytes per token.
out=$("$dschat" bench --model "$model" -p 8 -n 4 -d 40 -r 1 -t 1 --cache-type fp8 --json) || fail "bench --depth failed"
printf '%s' "$out" | grep -q '"depth": 40, "cache_type": "fp8", "cache_bytes_per_token": 400,' || fail "depth/cache: $out"
# Four decoded tokens after 40 attend 40 + (4+1)/2 = 42 rows on average: 42 x 400 bytes.
printf '%s' "$out" | grep -q '"decode_cache_bytes_per_token": 16800,' || fail "decode cache bytes: $out"
# GB/s = (weight + cache bytes) x decode tok/s.
printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = (d["decode_weight_bytes_per_token"] + d["decode_cache_bytes_per_token"]) * d["decode_tps"] / 1e9
assert d["decode_weight_bytes_per_token"] > 0 and abs(d["decode_gb_per_s"] - want) <= 1e-3 + 1e-3 * want, d
' || fail "decode GB/s is not the bytes times the rate: $out"
if err=$("$dschat" bench --model "$model" --cache-type q4_0 2>&1); then fail "unknown --cache-type accepted"; fi
printf '%s' "$err" | grep -q "q4_0" || fail "error does not name the bad cache type: $err"

if err=$("$dschat" bench --model "$model" --type q3_k 2>&1); then fail "unknown --type accepted"; fi
printf '%s' "$err" | grep -q "q3_k" || fail "error does not name the bad type: $err"
if err=$("$dschat" bench --model "$here/no-such-model" 2>&1); then fail "missing model accepted"; fi
printf '%s' "$err" | grep -q "no-such-model" || fail "error does not name the model: $err"
echo "bench_json_test: ok"
