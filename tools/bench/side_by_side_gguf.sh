#!/bin/sh
# Prefill and decode side by side on the same GGUF files (docs/benchmarks.md, "The AVX-512 level
# on real widths"): per round and file, llama-bench, then dschat bench at its default SIMD level,
# then (LEVELS) dschat at other levels, each line tagged with the load average before it.
#   tools/bench/side_by_side_gguf.sh DSCHAT LLAMA_BENCH ROUNDS THREADS PROMPT GEN GGUF...
#   LEVELS="avx2" (default: none) adds DSCHAT_SIMD=avx2 runs of the same dschat.
#   DEPTH=N (default 0): both measure after N tokens already in the cache (llama-bench -d, dschat
#   bench --depth); REPS (default 2) repetitions per measurement.
#   BANDWIDTH=PATH (a read_bandwidth binary, tools/bench/read_bandwidth.sh builds one): each round
#   starts with the machine's read bandwidth at THREADS threads, so that the summary can give each
#   program's decode as a share of the bandwidth measured beside it (it drifts between runs here).
set -eu
if [ $# -lt 7 ]; then
  echo "usage: $0 DSCHAT LLAMA_BENCH ROUNDS THREADS PROMPT GEN GGUF..." >&2
  exit 2
fi
dschat=$1 llama=$2 rounds=$3 threads=$4 prompt=$5 gen=$6
shift 6
depth=${DEPTH:-0} reps=${REPS:-2}
tag() { sed "s/^{/{\"prog\": \"$1\", \"round\": $2, \"file\": \"$(basename "$3")\", \"load\": $(cut -d' ' -f1 /proc/loadavg), /"; }
round=1
while [ "$round" -le "$rounds" ]; do
  if [ -n "${BANDWIDTH:-}" ]; then
    "$BANDWIDTH" 1073741824 "$threads" 3 | tag bandwidth "$round" machine
  fi
  for gguf in "$@"; do
    "$llama" -m "$gguf" -p "$prompt" -n "$gen" -d "$depth" -t "$threads" -r "$reps" -o jsonl 2>/dev/null | tag llama "$round" "$gguf"
    "$dschat" bench --model "$gguf" -p "$prompt" -n "$gen" -d "$depth" -t "$threads" -r "$reps" --json 2>/dev/null | tag dschat "$round" "$gguf"
    for level in ${LEVELS:-}; do
      DSCHAT_SIMD=$level "$dschat" bench --model "$gguf" -p "$prompt" -n "$gen" -d "$depth" -t "$threads" -r "$reps" --json 2>/dev/null |
        tag "dschat_$level" "$round" "$gguf"
    done
  done
  round=$((round + 1))
done
