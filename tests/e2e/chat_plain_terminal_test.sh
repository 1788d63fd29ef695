#!/usr/bin/env bash
# On a terminal that cannot hold the chat window (TERM=dumb, or a TERM without a terminfo entry)
# dschat says why once and runs the plain line interface: a prompt, the streamed reply, commands,
# and on leaving the line naming the saved file and how to resume it.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

for term in dumb xterm-no-such-terminal; do
  E2E_ENV=(TERM=$term)
  start_chat 80 20
  wait_for '^>>>' 20
  type_line "/set parameter num_predict 6"
  type_line "/set parameter temperature 0"
  type_line "hello"
  wait_for '^>>> hello$' 10
  # The reply is the line after the prompt that sent it, and a new prompt follows it.
  for ((i = 0; i < 100; i++)); do
    reply=$(screen | sed -n '/^>>> hello$/{n;p;}')
    [ -n "$reply" ] && screen | sed -n '/^>>> hello$/,$p' | tail -n +3 | grep -q '^>>>' && break
    sleep 0.1
  done
  [ -n "$reply" ] && [[ "$reply" != ">>> "* ]] || fail "TERM=$term: no reply under the prompt"
  type_line "/show parameters"
  wait_for 'num_predict +6' 10
  type_line "/bye"
  wait_for '\[exit status 0\]' 10
  case $term in
    dumb) why='TERM=dumb' ;;
    *) why="TERM=$term has no terminfo entry" ;;
  esac
  grep -qF "dschat: $why: plain line mode" "$E2E_DIR/stderr" || fail "TERM=$term: no 'plain line mode' reason on stderr"
  [ "$(grep -c 'plain line mode' "$E2E_DIR/stderr")" -eq 1 ] || fail "TERM=$term: the reason is not said once"
  file=$(ls -t "$XDG_DATA_HOME"/dschat/conversations/*.json | head -1)
  grep -qF "saved to $file — resume with: dschat --resume $file" "$E2E_DIR/stderr" || fail "TERM=$term: no exit line for $file"
  stop_chat
done
echo PASS
