#!/usr/bin/env bash
# What a person sees of the model: the bundled model is called kjv-demo in the status line and the
# transcript, its start says in one line what it is and how to use another model; --ctx beyond
# the model's maximum is clamped with a notice; /show info repeats what it is. In line mode the
# same notice goes to stderr, and `--model .` is named for the directory, never ".".
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"
bundled="$(cd "$(dirname "$0")/../../assets/model" && pwd)"

start_chat 120 30 --model "$bundled" --ctx 99999
wait_loaded
wait_for 'Loaded kjv-demo: 100% of' 10
wait_for 'trained on the King James Bible.*--model PATH' 10
wait_for 'ctx 99999 is more than the model.s maximum; the context is 1024 tokens' 10
screen | tail -n 3 | grep -q '^ kjv-demo | ctx 0/1024' || fail "status line: $(screen | tail -n 3)"
type_line "/set parameter num_predict 4"
type_line "Hello"
wait_reply_done 40
screen | grep -q '^kjv-demo' || fail "no kjv-demo label on the reply: $(screen)"
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat

# Line mode: the notice on stderr, /show info on stdout; a directory given as "." is named.
printf '/show info\n' | "$DSCHAT" --model "$bundled" > "$E2E_DIR/out" 2> "$E2E_DIR/err" || fail "line mode failed: $(cat "$E2E_DIR/err")"
grep -q '^kjv-demo is a small demo model trained on the King James Bible; for another model: dschat --model PATH$' "$E2E_DIR/err" \
  || fail "no notice on stderr: $(cat "$E2E_DIR/err")"
grep -q 'King James Bible' "$E2E_DIR/out" || fail "/show info does not say what the model is: $(cat "$E2E_DIR/out")"
grep -q '^name: kjv-demo$' "$E2E_DIR/out" || fail "/show info has no name: $(cat "$E2E_DIR/out")"
mkdir -p "$E2E_DIR/foo"
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
  ln -s "$bundled/$f" "$E2E_DIR/foo/$f"
done
(cd "$E2E_DIR/foo" && printf '/show info\n' | "$DSCHAT" --model . > "$E2E_DIR/out" 2> "$E2E_DIR/err") || fail "--model . failed: $(cat "$E2E_DIR/err")"
grep -q '^name: foo$' "$E2E_DIR/out" || fail "--model . is not named foo: $(cat "$E2E_DIR/out")"
grep -q 'King James' "$E2E_DIR/err" && fail "a model without dschat.json got the bundled model's notice"
echo PASS
