#!/usr/bin/env bash
# What a person sees of the defaults, finding conversations and completion (issue 19):
#   - the config file ($XDG_CONFIG_HOME/dschat/config.json) turns Markdown off and shows the
#     reasoning in full from the start, and sets the temperature of a new conversation; --top-k
#     on the command line goes over a resumed conversation's own value;
#   - `dschat --resume` with two saved conversations lists them newest first and asks; "2" opens
#     the older one;
#   - Tab completes /commands, /set parameter names and paths ("~" kept), and lists the candidates
#     when there are several; /set parameter num_ctx resizes the context the status line shows.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

conversations="$XDG_DATA_HOME/dschat/conversations"
mkdir -p "$conversations" "$XDG_CONFIG_HOME/dschat" "$HOME/saved-chats"
python3 - "$conversations" <<'PY'
import json, os, sys
def write(name, updated, title, user, reply, reasoning):
    json.dump({"format": "dschat-conversation", "version": 1, "id": name,
               "created": updated, "updated": updated, "model": {"path": "/m", "name": "r1-model"},
               "title": title, "system": "",
               "messages": [{"role": "user", "content": user, "time": updated},
                            {"role": "assistant", "content": reply, "reasoning": reasoning,
                             "reasoning_tokens": 5, "model": "r1-model", "time": updated}]},
              open(os.path.join(sys.argv[1], name + ".json"), "w"))
write("20261201-100000-aaaa", "2026-12-01T10:00:00Z", "Older question", "Older question",
      "The **older** answer.", "Thinking about the older one.")
write("20261202-100000-bbbb", "2026-12-02T10:00:00Z", "Newer question", "Newer question",
      "The newer answer.", "")
PY
echo '{"markdown": false, "think": "show", "temperature": 0.25}' > "$XDG_CONFIG_HOME/dschat/config.json"

start_chat 100 30 --resume --top-k 3
wait_for '^Saved conversations, newest first:' 10
wait_for '^  1  2026-12-02 10:00  r1-model  2 messages  Newer question' 5
wait_for '^  2  2026-12-01 10:00  r1-model  2 messages  Older question' 5
wait_for 'Resume which\? \(1-2' 5
type_line "2"
wait_loaded
wait_for '^  Older question' 10
# Markdown off (config): the markers are shown; think show (config): the reasoning in full.
wait_for '^  The \*\*older\*\* answer\.' 10
wait_for '^  Thinking about the older one\.$' 10
screen | grep -q 'Newer question' && fail "the newer conversation was opened instead of the chosen one"

# Tab completion: a unique command, then a parameter name, then ambiguous candidates listed.
keys -l "/sh"
keys Tab
wait_for '^>>> /show$' 5   # (capture-pane drops the space after it)
keys -l "pa"
keys Tab
wait_for '^>>> /show parameters$' 5
keys Enter
wait_for '^top_k 3$' 10            # the command line's, over the resumed conversation's
keys -l "/set parameter num_c"
keys Tab
wait_for '^>>> /set parameter num_ctx$' 5
keys -l "64"
keys Enter
wait_for 'set num_ctx to 64' 10
wait_for '/64' 10                  # the status line's context size
keys -l "/set parameter top"
keys Tab
wait_for '^top_k  top_p$' 5        # the candidates, listed in the transcript
keys C-u
# Paths: "~" kept, a directory completed with its '/'.
keys -l "/save ~/sav"
keys Tab
wait_for '^>>> /save ~/saved-chats/$' 5
keys -l "one.json"
keys Enter
wait_for 'saved to ' 10
[ -f "$HOME/saved-chats/one.json" ] || fail "/save ~/saved-chats/one.json wrote nothing there"
keys -l "/bye"
keys Enter
wait_for '\[exit status 0\]' 10
stop_chat

# A new conversation starts from the config file's sampling.
start_chat 100 30
wait_loaded
type_line "/show parameters"
wait_for '^temperature 0.25$' 10
keys C-d
wait_for '\[exit status 0\]' 10
stop_chat
echo PASS
