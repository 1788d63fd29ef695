#!/bin/sh
# Builds one libFuzzer target (clang, -fsanitize=fuzzer,address,undefined) and runs it for
# SECONDS on its seed corpus. Usage: tests/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]
#   TARGET: safetensors_header safetensors_index model_config tokenizer_json tokenizer_encode
#           conversation pt_zip pickle pt_checkpoint chat_command gguf_file openai_request
#           sse_stream
# New inputs go to $BUILD/corpus/TARGET (not the repository); crashes to $BUILD/findings/TARGET/.
# Keep a finding as tests/fuzz/regressions/TARGET/<name> once it is fixed: CI replays it.
# Environment: DSCHAT_FUZZ_BUILD (default build-fuzz), JOBS (default 2), CXX (default clang++-14),
# DSCHAT_FUZZ_NO_BUILD (set: run the target as already built).
set -e
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
target=$1; seconds=$2; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${DSCHAT_FUZZ_BUILD:-$root/build-fuzz}
[ -f "$root/tests/fuzz/${target}_fuzz.cpp" ] || { echo "unknown target: $target" >&2; exit 2; }
if [ ! -f "$build/CMakeCache.txt" ]; then
  CXX=${CXX:-clang++-14} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DDSCHAT_FUZZ=ON -DDSCHAT_BUILD_TESTS=OFF >/dev/null
fi
# DSCHAT_FUZZ_NO_BUILD=1 runs the target as built (a campaign that runs several at once builds first).
[ -n "$DSCHAT_FUZZ_NO_BUILD" ] || cmake --build "$build" -j"${JOBS:-2}" --target "${target}_fuzzer" >/dev/null
work="$build/corpus/$target"
findings="$build/findings/$target"
mkdir -p "$work" "$findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
regressions="$root/tests/fuzz/regressions/$target"
[ -d "$regressions" ] || regressions=""
# -max_len: large enough for the depth and size seeds of make_seeds.py (JSON nested past the
# 256-level bound, 32 KB values, the regressions' 400 KB and 0.9 MB nestings), not libFuzzer's
# 4 KB default, which cannot reach them.
case $target in
  tokenizer_json) max_len=1048576 ;;
  safetensors_header|safetensors_index|model_config|conversation|openai_request) max_len=524288 ;;
  user_config) max_len=1048576 ;;  # the file limit (1 MiB), deep nesting within it
  pt_zip|pickle|pt_checkpoint|tokenizer_encode|gguf_file|sse_stream) max_len=65536 ;;
  *) max_len=8192 ;;
esac
exec "$build/tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
  -artifact_prefix="$findings/" -print_final_stats=1 "$@" "$work" "$root/tests/fuzz/corpus/$target" $regressions
