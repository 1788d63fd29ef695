#!/bin/sh
# The help and the man page cannot drift: every option a command's source names (a string literal
# "--name" or "-x" in app/cli/COMMAND.cpp) is in that command's --help, and every option of every
# --help is in docs/dschat.1 (roff escapes removed). Also: the chat's errors say "dschat:", not
# "dschat chat:", and a missing model is named as the user gave it.
#   help_man_page_test.sh PATH/TO/dschat
set -eu
dschat=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dschat-help.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "help_man_page_test: $*" >&2; exit 1; }

"$dschat" --help > "$tmp/help.main" || fail "dschat --help failed"
"$dschat" --model x --help > "$tmp/help.chat" || fail "dschat --model x --help failed"
for command in run tokenize detokenize logits bench info serve list; do
  "$dschat" "$command" --help > "$tmp/help.$command" || fail "dschat $command --help failed"
  "$dschat" "$command" -h > "$tmp/h.$command" || fail "dschat $command -h failed"
  cmp -s "$tmp/help.$command" "$tmp/h.$command" || fail "dschat $command -h differs from --help"
done

/usr/bin/python3 - "$root" "$tmp" <<'PY' || exit 1
import os, re, sys
root, tmp = sys.argv[1], sys.argv[2]
option = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")
def options(text): return set(option.findall(text))
def source_options(path):  # the exact literals "--name" / "-x" of a source file
    return set(re.findall(r'"(--?[A-Za-z][A-Za-z0-9-]*)"', open(path).read()))
man = open(os.path.join(root, "docs/dschat.1")).read()
man = re.sub(r"\\f[BIRP]", "", man).replace("\\-", "-")
man_options = options(man)
errors = []
helps = {}
for name in os.listdir(tmp):
    if name.startswith("help."): helps[name[5:]] = open(os.path.join(tmp, name)).read()
sources = {"main": ["app/cli/main.cpp", "app/cli/chat.cpp"], "chat": ["app/cli/chat.cpp"]}
for command, text in helps.items():
    for source in sources.get(command, ["app/cli/%s.cpp" % command]):
        for o in sorted(source_options(os.path.join(root, source)) - options(text)):
            errors.append("%s names %s but `dschat %s--help` does not" % (source, o, "" if command in ("main", "chat") else command + " "))
    for o in sorted(options(text) - man_options):
        errors.append("`dschat %s--help` lists %s but docs/dschat.1 does not" % ("" if command in ("main", "chat") else command + " ", o))
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

# Errors of the chat are "dschat: ..."; the path named is the one given.
status=0
"$dschat" --model /tmp/nonexist2-dschat < /dev/null > /dev/null 2> "$tmp/err" || status=$?
[ "$status" -ne 0 ] || fail "a missing model did not fail"
grep -q '^dschat: /tmp/nonexist2-dschat' "$tmp/err" || fail "chat error: $(cat "$tmp/err")"
status=0
"$dschat" run --model /tmp/nonexist2-dschat hi > /dev/null 2> "$tmp/err" || status=$?
[ "$status" -ne 0 ] || fail "run with a missing model did not fail"
grep -q '^dschat run: /tmp/nonexist2-dschat: no such model' "$tmp/err" || fail "run error: $(cat "$tmp/err")"
"$dschat" --bogus < /dev/null > /dev/null 2> "$tmp/err" && fail "--bogus accepted"
grep -q '^dschat: unknown option --bogus' "$tmp/err" || fail "bad option error: $(cat "$tmp/err")"
echo PASS
