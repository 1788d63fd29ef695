#!/usr/bin/env bash
# What a person sees of a reply's Markdown and reasoning: a conversation file (written here, as an
# R1-style model's reply would be stored) is resumed; its reasoning shows folded to one dim line,
# bold is drawn bold and the fenced block is labelled [1] (attributes read with capture-pane -e);
# /set think show|hide and /set markdown off change the view; the reasoning is not in the answer.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

conv="$E2E_DIR/r1.json"
python3 - "$conv" <<'PY'
import json, sys
json.dump({"format": "dschat-conversation", "version": 1, "id": "20261203-100000-abcd",
           "created": "2026-12-03T10:00:00Z", "updated": "2026-12-03T10:00:00Z",
           "model": {"path": "/m", "name": "r1-model"}, "title": "Sum", "system": "",
           "messages": [
               {"role": "user", "content": "What is 2+2?", "time": "2026-12-03T10:00:00Z"},
               {"role": "assistant", "content": "It is **four**.\n\n```python\nprint(2 + 2)\n```",
                "reasoning": "Adding two and two gives four.", "reasoning_tokens": 7,
                "model": "r1-model", "time": "2026-12-03T10:00:01Z"}]}, open(sys.argv[1], "w"))
PY

start_chat 80 24 --resume "$conv"
wait_loaded
wait_for 'thought for 7 tokens: Adding two and two gives four\.' 10
wait_for '^  It is four\.' 10
screen | grep -q '^  \[1\] python' || fail "no [1] label on the fenced block"
screen | grep -q '^  print(2 + 2)' || fail "code block not shown"
screen | grep -q '\*\*four\*\*' && fail "bold markers shown raw"
screen | grep -q '^r1-model' || fail "the reply is not labelled with the model that wrote it"
# Attributes: bold (SGR 1) on "four", dim (SGR 2) on the folded reasoning line.
attrs=$(tmx capture-pane -p -e -t chat)
printf '%s\n' "$attrs" | grep 'It is' | grep -q $'\e\\[1m[^\e]*four' || fail "'four' is not bold: $(printf '%s\n' "$attrs" | grep 'It is' | cat -v)"
printf '%s\n' "$attrs" | grep 'thought for' | grep -q $'\e\\[[0-9;]*2[;m]' || fail "reasoning line not dim: $(printf '%s\n' "$attrs" | grep 'thought' | cat -v)"

type_line "/set think show"
wait_for '^  thought:$' 10
wait_for '^  Adding two and two gives four\.$' 10
type_line "/set think hide"
wait_for 'reasoning: hide' 10
screen | grep -q 'Adding two' && fail "/set think hide still shows the reasoning"
type_line "/set markdown off"
wait_for '^  It is \*\*four\*\*\.' 10
wait_for '^  ```python' 10
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat
echo PASS
