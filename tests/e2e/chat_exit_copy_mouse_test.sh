#!/usr/bin/env bash
# Leaving and copying: after /bye the terminal keeps the conversation's last screen and a line
# naming the saved file with the `dschat --resume` command; /copy and /copy N put the last reply
# or its Nth code block on the clipboard by OSC 52 (tmux with set-clipboard on takes it into its
# paste buffer; the raw bytes, read with pipe-pane, carry the plain sequence and the DCS-wrapped
# one); the mouse wheel scrolls the transcript; in TERM=dumb line mode /copy says why it cannot.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

conv="$E2E_DIR/code.json"
python3 - "$conv" <<'PY'
import json, sys
filler = [m for i in range(30) for m in (
    {"role": "user", "content": "question %d" % i, "time": "2026-12-03T10:00:00Z"},
    {"role": "assistant", "content": "answer %d" % i, "model": "m", "time": "2026-12-03T10:00:01Z"})]
json.dump({"format": "dschat-conversation", "version": 1, "id": "20261203-100000-c0de",
           "created": "2026-12-03T10:00:00Z", "updated": "2026-12-03T10:00:00Z",
           "model": {"path": "/m", "name": "m"}, "title": "Listing", "system": "",
           "messages": filler + [
               {"role": "user", "content": "How do I list files?", "time": "2026-12-03T10:00:00Z"},
               {"role": "assistant", "content": "In Python:\n\n```python\nimport os\nprint(os.listdir('.'))\n```\n\nIn the shell:\n\n```bash\nls -la ~ | sort -k5 -n\n```\n\nDone.",
                "reasoning": "Never copied.", "reasoning_tokens": 3,
                "model": "m", "time": "2026-12-03T10:00:01Z"}]}, open(sys.argv[1], "w"))
PY

start_chat 80 24 --resume "$conv"
tmx set-option -s set-clipboard on
tmx pipe-pane -t chat -O "cat > $(printf %q "$E2E_DIR/raw")"
wait_loaded
wait_for '^  \[2\] bash' 10

# /copy 2: exactly the second block, into tmux's buffer.
type_line "/copy 2"
wait_for 'copied code block \[2\] \(bash\) \(23 bytes\) to the clipboard by OSC 52' 10
[ "$(tmx show-buffer)" = 'ls -la ~ | sort -k5 -n' ] || fail "tmux buffer after /copy 2: '$(tmx show-buffer)'"
# The raw bytes: the OSC 52 sequence, then the same wrapped for tmux's passthrough (ESC doubled).
b64=$(printf 'ls -la ~ | sort -k5 -n\n' | base64 -w0)
python3 - "$E2E_DIR/raw" "$b64" <<'PY' || fail "raw OSC 52 bytes not as expected"
import sys
raw = open(sys.argv[1], "rb").read()
b64 = sys.argv[2].encode()
osc = b"\x1b]52;c;" + b64 + b"\x07"
wrapped = b"\x1bPtmux;\x1b\x1b]52;c;" + b64 + b"\x07\x1b\\"
assert osc + wrapped in raw, raw[-400:]
print("raw OSC 52 + tmux passthrough found")
PY
# /copy: the whole answer (not the reasoning).
type_line "/copy"
wait_for 'copied the last reply' 10
tmx show-buffer > "$E2E_DIR/buffer"
python3 - "$conv" "$E2E_DIR/buffer" <<'PY' || fail "/copy did not copy the last reply's answer"
import json, sys
want = json.load(open(sys.argv[1]))["messages"][-1]["content"]
got = open(sys.argv[2]).read()
assert got == want, (got, want)
PY
type_line "/copy 3"
wait_for 'the last reply has code blocks \[1\] to \[2\]; no \[3\]' 10

# The mouse wheel (SGR reports, as a terminal with mouse reporting on sends them) scrolls up and
# back down.
view() { screen | head -20; }   # the transcript rows
before=$(view)
tmx send-keys -t chat -H 1b 5b 3c 36 34 3b 31 30 3b 35 4d   # ESC [ < 6 4 ; 1 0 ; 5 M
tmx send-keys -t chat -H 1b 5b 3c 36 34 3b 31 30 3b 35 4d
sleep 0.5
[ "$(view)" != "$before" ] || fail "the wheel did not scroll up"
screen | grep -q '| 6 lines below' || fail "two wheel steps up are not 6 lines"
tmx send-keys -t chat -H 1b 5b 3c 36 35 3b 31 30 3b 35 4d
tmx send-keys -t chat -H 1b 5b 3c 36 35 3b 31 30 3b 35 4d
sleep 0.5
[ "$(view)" = "$before" ] || fail "the wheel did not scroll back down"

# Leaving keeps the last screen and says where the conversation is and how to resume it (a
# resumed file from outside the store goes to the store when saved).
type_line "/save"
wait_for 'saved to ' 10
type_line "/bye"
wait_for '\[exit status 0\]' 10
saved="$XDG_DATA_HOME/dschat/conversations/20261203-100000-c0de.json"
tmx capture-pane -p -J -t chat | grep -qxF "saved to $saved — resume with: dschat --resume $saved" ||
  fail "no resume line after /bye"
screen | grep -q '^  ls -la ~ | sort -k5 -n' || fail "the conversation's last screen is not kept after /bye"
screen | grep -q '^Done\.$\|^  Done\.$' || fail "the reply's end is not on the kept screen"
[ -f "$saved" ] || fail "the resume line names a file that does not exist"
stop_chat

# TERM=dumb (line mode): /copy says why it cannot.
E2E_ENV=(TERM=dumb)
start_chat 80 24 --resume "$conv"
wait_for '^>>>' 30
type_line "/copy"
sleep 1
type_line "/bye"
wait_for '\[exit status 0\]' 10
grep -q 'TERM=dumb takes no escape sequences' "$E2E_DIR/stderr" || fail "line mode /copy did not say why it cannot copy"
stop_chat
echo PASS
