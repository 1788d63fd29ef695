# Shared helpers for the chat's tmux end-to-end tests (sourced by tests/e2e/*_test.sh).
# Each test: `source tmux_lib.sh "$1"`, then start_chat COLS ROWS [dschat args...], send/expect.
# Everything runs with private XDG_* directories under a temporary directory and a private tmux
# server. The model is $DSCHAT_MODEL_DIR when set, else dschat's default (the bundled model).

DSCHAT=${1:?usage: $0 PATH_TO_DSCHAT}
if ! command -v tmux >/dev/null 2>&1; then
  echo "SKIP: tmux is not installed (.ci/install-deps installs it)"
  exit 0
fi
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dschat-e2e.XXXXXX")
# Each start_chat gets a tmux server of its own (socket dschat-e2e-PID-N): a new session on the
# socket of a server that kill-server is still taking down can meet it exiting ("server exited
# unexpectedly", seen in CI), so a restarted chat never reuses a socket.
E2E_RUN=0
E2E_SOCKET="dschat-e2e-$$-0"
export XDG_DATA_HOME="$E2E_DIR/data" XDG_STATE_HOME="$E2E_DIR/state" XDG_CONFIG_HOME="$E2E_DIR/config"
export HOME="$E2E_DIR/home" LANG=C.UTF-8 LC_ALL=C.UTF-8
unset NO_COLOR DSCHAT_NOHISTORY
mkdir -p "$HOME"

tmx() { tmux -L "$E2E_SOCKET" -f /dev/null "$@"; }

cleanup() {
  tmx kill-server >/dev/null 2>&1
  rm -rf "$E2E_DIR"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- screen ---" >&2
  screen >&2
  echo "--- stderr of dschat ---" >&2
  cat "$E2E_DIR/stderr" >&2 2>/dev/null
  exit 1
}

# start_chat COLS ROWS [ARGS...]: runs dschat in a detached tmux window of that size, with the
# VAR=VALUE words of the array E2E_ENV (if set) in its environment (e.g. E2E_ENV=(TERM=dumb)).
start_chat() {
  local cols=$1 rows=$2
  shift 2
  E2E_RUN=$((E2E_RUN + 1))
  E2E_SOCKET="dschat-e2e-$$-$E2E_RUN"
  rm -f "$E2E_DIR/pid"
  # bash records the pid dschat will have (exec keeps it) in $E2E_DIR/pid.
  local cmd="bash -c 'echo \$\$ > $(printf %q "$E2E_DIR/pid"); exec \"\$@\"' _ env"
  [ -n "${DSCHAT_MODEL_DIR:-}" ] && cmd="$cmd DSCHAT_MODEL_DIR=$(printf %q "$DSCHAT_MODEL_DIR")"
  local e
  for e in ${E2E_ENV[@]+"${E2E_ENV[@]}"}; do cmd="$cmd $(printf %q "$e")"; done
  cmd="$cmd $(printf %q "$DSCHAT")"
  for a in "$@"; do cmd="$cmd $(printf %q "$a")"; done
  tmx new-session -d -s chat -x "$cols" -y "$rows" "$cmd 2>$(printf %q "$E2E_DIR/stderr"); echo \"[exit status \$?]\"; sleep 60"
  tmx set-option -t chat remain-on-exit on >/dev/null 2>&1
}

# stop_chat: ends the tmux server (dschat gets SIGHUP, as when a terminal closes) and waits until
# dschat has exited, so that what it saves on the way out is on disk before the test reads it.
stop_chat() {
  local pid i
  pid=$(cat "$E2E_DIR/pid" 2>/dev/null)
  tmx kill-server >/dev/null 2>&1
  [ -n "$pid" ] || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  fail "dschat (pid $pid) still running 10 s after its terminal closed"
}

chat_pid() { cat "$E2E_DIR/pid"; }

screen() { tmx capture-pane -p -t chat 2>/dev/null; }

# wait_for REGEX [SECONDS]: until the screen matches (grep -E), else fail.
wait_for() {
  local pattern=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    screen | grep -qE -- "$pattern" && return 0
    sleep 0.1
  done
  fail "timed out after ${limit}s waiting for /$pattern/"
}

# wait_gone REGEX [SECONDS]: until the screen no longer matches.
wait_gone() {
  local pattern=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    screen | grep -qE -- "$pattern" || return 0
    sleep 0.1
  done
  fail "timed out after ${limit}s waiting for /$pattern/ to go"
}

# type_line TEXT: types TEXT literally and presses Enter.
type_line() {
  tmx send-keys -t chat -l -- "$1"
  tmx send-keys -t chat Enter
}

keys() { tmx send-keys -t chat "$@"; }

wait_loaded() { wait_for 'Loaded .*: 100% of' "${1:-40}"; }

# set_long_replies: at a very high temperature sampling is nearly uniform over the vocabulary, so
# an end-of-sequence token or a stop string is very unlikely and a reply runs to num_predict
# (1000) with any model: long enough (seconds) to watch it grow, resize, signal or stop it.
set_long_replies() {
  type_line "/set parameter temperature 100"
  type_line "/set parameter top_p 1"
  type_line "/set parameter top_k 0"
  type_line "/set parameter num_predict 1000"
  wait_for 'set num_predict to 1000' 10
}

# wait_reply_done: the status line no longer says a reply is being generated.
wait_reply_done() {
  sleep 0.3
  wait_gone 'replying \(Esc stops\)' "${1:-40}"
}

