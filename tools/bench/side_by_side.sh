#!/bin/sh
# dschat bench and llama-bench side by side on the same seed-shape model, alternating so that both
# see the same machine (docs/benchmarks.md). Prints JSON lines; tools/bench/summarize.py makes the table.
#   tools/bench/side_by_side.sh DSCHAT MODEL_DIR GGUF_DIR LLAMA_BENCH [ROUNDS] > runs.jsonl
# MODEL_DIR: a Hugging Face directory (tools/make_seed_shape_checkpoint.py); GGUF_DIR holds
# seed-bf16.gguf, seed-q8_0.gguf and seed-q4_0.gguf converted from it (convert_hf_to_gguf.py, then
# llama-quantize --pure). Each round: for each type, 2 then 1 threads, llama-bench then dschat
# (pp512 and tg128, 3 repetitions each); then dschat's F32.
set -eu
if [ $# -lt 4 ]; then
  echo "usage: $0 DSCHAT MODEL_DIR GGUF_DIR LLAMA_BENCH [ROUNDS]" >&2
  exit 2
fi
dschat=$1 model=$2 gguf=$3 llama=$4 rounds=${5:-3}
tag() { sed "s/^{/{\"prog\": \"$1\", \"round\": $2, /"; }
round=1
while [ "$round" -le "$rounds" ]; do
  for type in bf16 q8_0 q4_0; do
    for threads in 2 1; do
      echo "{\"when\": \"$(date -u +%H:%M:%S)\", \"load\": $(cut -d' ' -f1 /proc/loadavg), \"round\": $round}"
      "$llama" -m "$gguf/seed-$type.gguf" -p 512 -n 128 -t "$threads" -r 3 -o jsonl 2>/dev/null | tag llama "$round"
      "$dschat" bench --model "$model" -p 512 -n 128 -t "$threads" -r 3 --type "$type" --json 2>/dev/null | tag dschat "$round"
    done
  done
  for threads in 2 1; do
    "$dschat" bench --model "$model" -p 512 -n 128 -t "$threads" -r 3 --type f32 --json 2>/dev/null | tag dschat "$round"
  done
  round=$((round + 1))
done
