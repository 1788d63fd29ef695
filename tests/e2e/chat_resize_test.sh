#!/usr/bin/env bash
# A resize re-wraps the transcript from the stored text; below 20x5 a notice replaces the
# layout, and growing back restores it.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

start_chat 80 24
wait_loaded
words="alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike november oscar papa quebec romeo sierra tango"
type_line "/set parameter num_predict 1"
type_line "$words"
wait_for '^  alpha bravo' 10
wait_reply_done 40
at80=$(screen | grep -c 'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike')
[ "$at80" -eq 1 ] || fail "at 80 columns the message should fit on one row"

tmx resize-window -t chat -x 44 -y 20
wait_for '^  alpha bravo charlie delta echo foxtrot$' 5
screen | grep -qE '^  golf hotel india juliett kilo lima mike$' || fail "not re-wrapped at word boundaries for 44 columns"
too_wide=$(screen | awk 'length($0) > 44' | wc -l)
[ "$too_wide" -eq 0 ] || fail "$too_wide rows wider than 44 columns"

tmx resize-window -t chat -x 19 -y 4
wait_for 'Terminal too small' 5
tmx resize-window -t chat -x 80 -y 24
wait_for 'alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike' 5
wait_for '^>>> ' 5
keys C-d
wait_for '\[exit status 0\]' 10
echo PASS
