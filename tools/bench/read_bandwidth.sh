#!/bin/sh
# Memory read bandwidth (read_bandwidth.cpp) at 1 and 2 threads over a 2 GiB buffer: the ceiling
# for decode GB/s in docs/benchmarks.md.   tools/bench/read_bandwidth.sh [OUT_DIR]
set -eu
out=${1:-/tmp}
c++ -O2 -std=c++20 -pthread "$(dirname "$0")/read_bandwidth.cpp" -o "$out/read_bandwidth"
for threads in 1 2; do "$out/read_bandwidth" 2147483648 "$threads" 5; done
