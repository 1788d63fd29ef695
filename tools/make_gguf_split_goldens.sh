#!/bin/sh
# Writes tests/data/gguf/split/: tests/data/gguf/v3_qlora.Q8_0.gguf (34 tensors) split by
# llama.cpp's own llama-gguf-split into three shards of at most 12 tensors,
# v3_qlora.Q8_0-0000{1,2,3}-of-00003.gguf, as the published large models are split; read by
# tests/engine/io/gguf_shards_test.cpp and the split case of tests/engine/deepseek/gguf_model_test.cpp.
#   tools/make_gguf_split_goldens.sh [LLAMA_CPP_BIN_DIR]   (default /work/llama.cpp/build/bin)
set -eu
bin=${1:-/work/llama.cpp/build/bin}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/tests/data/gguf/split
mkdir -p "$out"
rm -f "$out"/v3_qlora.Q8_0-*-of-*.gguf
"$bin/llama-gguf-split" --split --split-max-tensors 12 "$root/tests/data/gguf/v3_qlora.Q8_0.gguf" "$out/v3_qlora.Q8_0" >/dev/null
ls -l "$out"
