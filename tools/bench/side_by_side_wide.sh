#!/bin/sh
# Decode side by side on the wide shape (docs/benchmarks.md, "Wide shape"): llama-bench and
# dschat bench alternating per type, each line tagged with the load average before it.
#   tools/bench/side_by_side_wide.sh DSCHAT MODEL_DIR GGUF_DIR LLAMA_BENCH [ROUNDS] [THREADS] [TYPES] [DSCHAT_B]
# MODEL_DIR and GGUF_DIR/wide-{bf16,q8_0,q4_0}.gguf from tools/make_wide_checkpoint.py (then
# llama-quantize --pure). DSCHAT_B: a second dschat build measured in the same rounds (A/B).
set -eu
if [ $# -lt 4 ]; then
  echo "usage: $0 DSCHAT MODEL_DIR GGUF_DIR LLAMA_BENCH [ROUNDS] [THREADS] [TYPES] [DSCHAT_B]" >&2
  exit 2
fi
dschat=$1 model=$2 gguf=$3 llama=$4 rounds=${5:-2} threads=${6:-2} types=${7:-"q4_0 q8_0"} dschat_b=${8:-}
tag() { sed "s/^{/{\"prog\": \"$1\", \"round\": $2, \"load\": $(cut -d' ' -f1 /proc/loadavg), /"; }
round=1
while [ "$round" -le "$rounds" ]; do
  for type in $types; do
    "$llama" -m "$gguf/wide-$type.gguf" -p 0 -n 32 -t "$threads" -r 2 -o jsonl 2>/dev/null | tag llama "$round"
    "$dschat" bench --model "$model" -p 0 -n 32 -t "$threads" -r 2 --type "$type" --json 2>/dev/null | tag dschat "$round"
    if [ -n "$dschat_b" ]; then
      "$dschat_b" bench --model "$model" -p 0 -n 32 -t "$threads" -r 2 --type "$type" --json 2>/dev/null | tag dschat_b "$round"
    fi
  done
  round=$((round + 1))
done
