#!/bin/bash
# Usage: BIN=build/dschat [MODEL=DIR_OR_GGUF] R=5 CONFIGS="0:8192 2:8192" tools/bench/mtp_alternating.sh  (draft:draft-vocab pairs)
# Alternating `dschat run` with and without --draft; prints median decode tok/s and acceptance per config.
BIN=${BIN:-build/dschat}
PROMPT=${PROMPT:-"And God said, Let there be light"}
N=${N:-200}; R=${R:-5}
CONFIGS=${CONFIGS:-"0:8192 1:8192 2:8192 3:8192"}
declare -A tps acc
for r in $(seq $R); do
  for c in $CONFIGS; do
    d=${c%%:*}; v=${c##*:}
    out=$($BIN run ${MODEL:+--model "$MODEL"} --template concat --prompt "$PROMPT" --temp 0 -n $N -t 2 --draft $d --draft-vocab $v -v 2>&1 >/dev/null)
    t=$(echo "$out" | sed -n 's/^reply: .* tokens, \([0-9.]*\) tokens\/s.*/\1/p')
    a=$(echo "$out" | sed -n 's/^draft: .*(\([0-9.]*\)%), \([0-9.]*\) accepted per step.*/\1% \2/p')
    tps[$c]="${tps[$c]} $t"; acc[$c]="$a"
  done
done
for c in $CONFIGS; do
  med=$(echo ${tps[$c]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  echo "draft ${c%%:*} vocab ${c##*:}: median ${med} tok/s (runs:${tps[$c]}) acceptance/per-step: ${acc[$c]}"
done
