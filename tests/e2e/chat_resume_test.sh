#!/usr/bin/env bash
# --resume reopens the last conversation with its transcript; --resume FILE a given one.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 80 24
wait_loaded
type_line "/set parameter num_predict 6"
type_line "Remember the word pomegranate."
wait_for '^  Remember the word pomegranate\.' 10
wait_reply_done 40
wait_for 'tokens, .* tok/s' 10
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat
first=$(ls "$XDG_DATA_HOME"/dschat/conversations/*.json)
[ -n "$first" ] || fail "no conversation file after the first run"

start_chat 80 24 --resume
wait_loaded
wait_for '^  Remember the word pomegranate\.' 10
# The reply's statistics end the resumed messages: once they show, the whole conversation is on
# screen, and the load's notices ("Loaded ...", "resumed FILE") follow it, next to the prompt.
wait_for 'tokens, .* tok/s' 10
screen | sed -n '/tokens, .* tok\/s/,$p' | grep -q "^resumed " ||
  fail "no 'resumed FILE' notice below the resumed conversation"
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat

cp "$first" "$E2E_DIR/copy.json"
start_chat 80 24 --resume "$E2E_DIR/copy.json"
wait_loaded
wait_for '^  Remember the word pomegranate\.' 10
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
