#!/usr/bin/env bash
# Without a terminal, dschat reads prompts line by line and prints each reply on stdout;
# /commands work; the conversation is saved only with --save (every `echo hi | dschat` used to add
# a file), with its title, and /list and --conversations list it.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

echo hi | "$DSCHAT" > /dev/null 2> "$E2E_DIR/err" || fail "echo hi | dschat failed: $(cat "$E2E_DIR/err")"
[ -z "$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null)" ] || fail "line mode without --save wrote a file"
printf '%s\n' "/set parameter temperature 0" "/set parameter num_predict 8" "Hello" '"""' "two" "lines" '"""' "/bogus" \
  | "$DSCHAT" --save > "$E2E_DIR/out" 2> "$E2E_DIR/err"
status=$?
[ "$status" -eq 0 ] || fail "exit status $status: $(cat "$E2E_DIR/err")"
[ "$(grep -c . "$E2E_DIR/out")" -ge 1 ] || fail "no reply on stdout"
grep -q "unknown command '/bogus'" "$E2E_DIR/err" || fail "no error for /bogus on stderr"
file=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
python3 - "$file" <<'PY' || fail "autosaved conversation wrong"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["content"] for x in m if x["role"] == "user"] == ["Hello", "two\nlines"], m
assert json.load(open(sys.argv[1]))["title"] == "Hello"
PY
"$DSCHAT" --conversations > "$E2E_DIR/list" 2>&1 || fail "--conversations failed"
grep -Eq '^  1  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}  kjv-demo  4 messages  Hello$' "$E2E_DIR/list" \
  || fail "--conversations listing wrong: $(cat "$E2E_DIR/list")"
printf '%s\n' "/list" "/load 1" "/load nothing-like-it" | "$DSCHAT" > "$E2E_DIR/out2" 2> "$E2E_DIR/err2"
grep -q "4 messages  Hello" "$E2E_DIR/out2" || fail "/list in line mode: $(cat "$E2E_DIR/out2")"
grep -q "no conversation file or title beginning with 'nothing-like-it'" "$E2E_DIR/err2" \
  || fail "/load of an unknown title: $(cat "$E2E_DIR/err2")"
echo PASS
