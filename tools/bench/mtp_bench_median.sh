#!/bin/sh
# Usage: tools/bench/mtp_bench_median.sh BIN [N=10] [DRAFT=2]
# Median over N invocations of `dschat bench --mtp --json` (each alternates plain and MTP decode).
BIN=$1; N=${2:-10}; DRAFT=${3:-2}
for i in $(seq $N); do $BIN bench --mtp -p 0 -n 128 -t 2 --draft $DRAFT -r 3 --json 2>/dev/null; done | /usr/bin/python3 -c '
import json,sys,statistics as st
rows=[json.loads(l) for l in sys.stdin if l.startswith("{")]
sp=[r["mtp_decode_tps"]/r["decode_tps"] for r in rows]
print("runs %d  plain median %.0f  mtp median %.0f  speed-up median %.2f (min %.2f max %.2f)  acceptance %.1f%%  verify/step k=1..3 %s  draft/step %.2f" % (len(rows),
  st.median(r["decode_tps"] for r in rows), st.median(r["mtp_decode_tps"] for r in rows), st.median(sp), min(sp), max(sp), 100*rows[0]["acceptance"],
  [round(st.median(r["verify_ms"][k]/r["step_ms"] for r in rows),2) for k in range(3)] if "verify_ms" in rows[0] else "-", st.median(r["draft_step_ms"]/r["step_ms"] for r in rows) if "verify_ms" in rows[0] else 0))'
