#!/bin/sh
# One GGUF file side by side (docs/benchmarks.md, "K-quant GEMV"): llama-bench and dschat bench
# (and a second dschat build, the A/B baseline) alternating, decode tg32 then prefill pp512, each
# line tagged with the program, round, test and the load average before it. Prints JSON lines.
#   tools/bench/side_by_side_ab.sh DSCHAT GGUF LLAMA_BENCH [ROUNDS] [THREADS] [DSCHAT_B]
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 DSCHAT GGUF LLAMA_BENCH [ROUNDS] [THREADS] [DSCHAT_B]" >&2
  exit 2
fi
dschat=$1 gguf=$2 llama=$3 rounds=${4:-2} threads=${5:-2} dschat_b=${6:-}
tag() { sed "s/^{/{\"prog\": \"$1\", \"round\": $2, \"test\": \"$3\", \"load\": $(cut -d' ' -f1 /proc/loadavg), /"; }
round=1
while [ "$round" -le "$rounds" ]; do
  for test in "0 32 tg32" "512 0 pp512"; do
    set -- $test
    "$llama" -m "$gguf" -p "$1" -n "$2" -t "$threads" -r 2 -o jsonl 2>/dev/null | tag llama "$round" "$3"
    "$dschat" bench --model "$gguf" -p "$1" -n "$2" -t "$threads" -r 2 --json 2>/dev/null | tag dschat "$round" "$3"
    if [ -n "$dschat_b" ]; then
      "$dschat_b" bench --model "$gguf" -p "$1" -n "$2" -t "$threads" -r 2 --json 2>/dev/null | tag dschat_b "$round" "$3"
    fi
  done
  round=$((round + 1))
done
