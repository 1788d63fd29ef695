#!/bin/sh
# Launch to first token and peak memory of `dschat run` (docs/benchmarks.md, "Start-up and memory").
#   tools/measure_startup.sh MODEL_DIR REPS DSCHAT [DSCHAT ...]
# Runs `DSCHAT run --model MODEL_DIR --prompt hi -n 1 --temp 0` REPS times per binary, the
# binaries alternating so that each sees the same machine load, and prints per binary the
# median wall time, the median CPU time (user + system) and the largest maximum RSS
# (GNU time's %e, %U + %S and %M).
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 MODEL_DIR REPS DSCHAT [DSCHAT ...]" >&2
  exit 2
fi
model=$1
reps=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
while [ "$i" -lt "$reps" ]; do
  n=0
  for bin in "$@"; do
    /usr/bin/time -f "%e %U %S %M" -a -o "$out/$n" "$bin" run --model "$model" --prompt hi -n 1 --temp 0 >/dev/null
    n=$((n + 1))
  done
  i=$((i + 1))
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
n=0
for bin in "$@"; do
  wall=$(awk '{ print $1 }' "$out/$n" | median)
  cpu=$(awk '{ print $2 + $3 }' "$out/$n" | median)
  rss=$(awk '$4 > m { m = $4 } END { printf "%.1f", m / 1024 }' "$out/$n")
  echo "$bin: wall $wall s, cpu $cpu s (medians of $reps runs), max RSS $rss MiB"
  n=$((n + 1))
done
