#!/bin/sh
# The bundled model through `dschat run` (normal loading path, chat template, generation loop,
# streaming decoder): the greedy reply equals the PyTorch reference's greedy reply
# (tests/data/bundled/run_stdout.txt, written by tools/train/make_goldens.py from the same
# model.safetensors). A broken or stale asset fails here.
#   bundled_run_test.sh PATH/TO/dschat
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
golden=$here/../data/bundled
model=$here/../../assets/model
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# The user message and the token budget are the golden's (greedy.json: "user", "max_new_tokens").
user=$(sed -n 's/^ "user": "\(.*\)",$/\1/p' "$golden/greedy.json")
max_new=$(sed -n 's/^ "max_new_tokens": \([0-9]*\)$/\1/p' "$golden/greedy.json")
if [ -z "$user" ] || [ -z "$max_new" ]; then
  echo "bundled_run_test: cannot read user/max_new_tokens from $golden/greedy.json" >&2
  exit 1
fi

"$dschat" run --model "$model" --prompt "$user" --temp 0 --repeat-penalty 1 -n "$max_new" > "$out"
if ! cmp -s "$out" "$golden/run_stdout.txt"; then
  echo "bundled_run_test: dschat run printed:" >&2
  cat "$out" >&2
  echo "bundled_run_test: the PyTorch reference's greedy reply is:" >&2
  cat "$golden/run_stdout.txt" >&2
  exit 1
fi
# Not an empty success: the reply has words.
if ! grep -q '[A-Za-z]' "$out"; then
  echo "bundled_run_test: empty reply" >&2
  exit 1
fi
echo "bundled_run_test: ok"
