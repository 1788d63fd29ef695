#!/usr/bin/env bash
# Model files that are damaged or change under a running chat:
# 1. NaN weights: the chat shows a WARNING naming the tensor as soon as the model has loaded.
# 2. The model directory renamed away and another put in its place: dschat keeps replying from
#    the files it has mapped (a rename does not touch them).
# 3. The mapped file then cut short in place during a reply: no crash (no SIGBUS); the reply
#    stops with a message saying the files changed, later messages are refused with the reason,
#    and the conversation so far is kept and saved.
set -u
source "$(dirname "$0")/tmux_lib.sh" "$1"

bundled="$(cd "$(dirname "$0")/../../assets/model" && pwd)"
conversation_file() { ls "$XDG_DATA_HOME"/dschat/conversations/*.json 2>/dev/null | head -1; }
messages_saved() {
  python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['messages']))" "$(conversation_file)" 2>/dev/null
}

# 1. A copy whose final norm starts with two NaN (bfloat16 0x7FC0).
cp -r "$bundled" "$E2E_DIR/nan-model"
python3 - "$E2E_DIR/nan-model/model.safetensors" <<'PY'
import json, struct, sys
with open(sys.argv[1], "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    t = json.loads(f.read(n))["model.norm.weight"]
    assert t["dtype"] == "BF16", t
    f.seek(8 + n + t["data_offsets"][0])
    f.write(struct.pack("<2H", 0x7FC0, 0x7FC0))
PY
start_chat 250 30 --model "$E2E_DIR/nan-model"
wait_for "WARNING: .*tensor 'model\.norm\.weight' holds 2 NaN values" 40
type_line "/bye"
wait_for '\[exit status 0\]' 10
stop_chat

# 2. Renamed away and replaced by another directory.
cp -r "$bundled" "$E2E_DIR/model"
start_chat 250 40 --model "$E2E_DIR/model"
wait_loaded
screen | grep -q 'WARNING' && fail "a warning for the intact model"
type_line "/set parameter num_predict 8"
type_line "First question"
wait_for '^  First question' 10
wait_reply_done 60
mv "$E2E_DIR/model" "$E2E_DIR/model.old"
cp -r "$bundled" "$E2E_DIR/model"
type_line "Second question"
wait_for '^  Second question' 10
wait_reply_done 60
[ "$(messages_saved)" = 4 ] || fail "after the directory was replaced: $(messages_saved) messages saved, expected 4"

# 3. The file dschat has mapped (now in model.old) cut to its first 4 KiB during a reply.
set_long_replies
type_line "Third question"
wait_for 'replying \(Esc stops\)' 20
truncate -s 4096 "$E2E_DIR/model.old/model.safetensors"
wait_for "Reply stopped: the model's files changed on disk" 60
wait_reply_done 30
kill -0 "$(chat_pid)" 2>/dev/null || fail "dschat died when its model file was cut short"
# The news reaches the user in the transcript only: nothing written to stderr, which would land
# on top of the curses screen (the SIGBUS handler used to print a warning there).
[ -s "$E2E_DIR/stderr" ] && fail "dschat wrote to stderr under the chat screen: $(head -c 300 "$E2E_DIR/stderr")"
type_line "Fourth question"
for ((i = 0; i < 300; i++)); do
  [ "$(screen | grep -c "the model's files changed on disk")" -ge 2 ] && break
  sleep 0.1
done
[ "$(screen | grep -c "the model's files changed on disk")" -ge 2 ] || fail "the fourth message was not refused with the reason"
[ "$(messages_saved)" = 6 ] || fail "after the file was cut: $(messages_saved) messages saved, expected 6"
keys C-d
wait_for '\[exit status 0\]' 10
python3 - "$(conversation_file)" <<'PY' || fail "the saved conversation is not as expected"
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
assert [x["content"] for x in m[0::2]] == ["First question", "Second question", "Third question"], m
assert m[5].get("interrupted") is True, m[5]
PY
echo PASS
