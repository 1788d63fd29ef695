#!/bin/sh
# Kernel-only GEMV bandwidth (docs/benchmarks.md, "Wide shape"): compiles gemv_bandwidth.cpp
# against a Release build's engine libraries and runs it on the wide shape's matrices: an
# expert (1408 x 2048, 64 copies = 104 MB in Q4_0, past the L3), the dense FFN's up (10944 x 2048)
# and lm_head (102400 x 2048), one token (TOKENS: more, a prefill's GEMV), 1 and 2 threads.
# Prints JSON lines.
#   tools/bench/gemv_bandwidth.sh [BUILD_DIR] [SECONDS] [TYPES] [TOKENS]
# TYPES default "q4_0 q4_0_x8 q8_0" (q4_0: row-major; q4_0_x8: as the load repacks it; also
# q4_k q5_k q6_k); TOKENS default 1. The environment's TYPES / TOKENS serve when not given.
set -eu
build=${1:-build} seconds=${2:-2} types=${3:-${TYPES:-q4_0 q4_0_x8 q8_0}} tokens=${4:-${TOKENS:-1}}
src=$(dirname "$0")/gemv_bandwidth.cpp
bin=$build/gemv_bandwidth
c++ -O2 -std=c++20 -I"$(dirname "$0")/../.." "$src" "$build/engine/libengine_ops.a" "$build/engine/libengine_quant.a" \
  -lpthread -o "$bin"
for type in $types; do
  for threads in 1 2; do
    "$bin" 1408 2048 64 "$type" "$threads" "$seconds" "$tokens"
    "$bin" 10944 2048 4 "$type" "$threads" "$seconds" "$tokens"
    "$bin" 102400 2048 1 "$type" "$threads" "$seconds" "$tokens"
  done
done
