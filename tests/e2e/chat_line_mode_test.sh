#!/usr/bin/env bash
# Without a terminal, dschat reads prompts line by line and prints each reply on stdout;
# /commands work; the conversation is autosaved.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

printf '%s\n' "/set parameter temperature 0" "/set parameter num_predict 8" "Hello" '"""' "two" "lines" '"""' "/bogus" \
  | "$DSCHAT" > "$E2E_DIR/out" 2> "$E2E_DIR/err"
status=$?
[ "$status" -eq 0 ] || fail "exit status $status: $(cat "$E2E_DIR/err")"
[ "$(grep -c . "$E2E_DIR/out")" -ge 1 ] || fail "no reply on stdout"
grep -q "unknown command '/bogus'" "$E2E_DIR/err" || fail "no error for /bogus on stderr"
file=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
python3 - "$file" <<'PY' || fail "autosaved conversation wrong"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["content"] for x in m if x["role"] == "user"] == ["Hello", "two\nlines"], m
PY
echo PASS
