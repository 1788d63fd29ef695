// dschat: chat with DeepSeek-V3-family models on the CPU. Dispatches to the subcommands.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "app/cli/terminal_safe_text.h"
#include "app/cli/commands.h"
#include "engine/model.h"
#include "common/out_of_memory.h"

namespace {

const char* kCommands =
    "usage: dschat [options]                 chat in the terminal (options below; dschat --model PATH)\n"
    "       dschat run [options] TEXT        one reply to TEXT, streamed to stdout\n"
    "       dschat tokenize [options]        text on stdin -> JSON token ids\n"
    "       dschat detokenize [options]      JSON token ids on stdin -> text\n"
    "       dschat logits --ids 1,2,3 --out F.npy [options]   the logits of every position to .npy\n"
    "       dschat bench [options]           prefill and decode speed\n"
    "       dschat info [--model PATH]       the model's configuration and parameters\n"
    "       dschat convert --model SRC --out FILE.gguf --type TYPE   write a GGUF file (llama.cpp runs it)\n"
    "       dschat serve [options]           an OpenAI-compatible HTTP server (dschat serve --help)\n"
    "       dschat list                      the models of ~/.local/share/dschat/models (--model NAME)\n"
    "       dschat -h | --help | -V | --version\n"
    "\n"
    "Options of the chat:\n";

const char* kMore =
    "\n"
    "Run 'dschat <command> --help' for the options of a command, 'man dschat' for all of them.\n";

std::string usage() { return std::string(kCommands) + dschat::chat_options_help() + kMore; }

// DSCHAT_SIMD lowers the instruction-set level of the kernels (engine/ops/cpu_features.h); a value
// that names no level is a mistake to report, not to ignore. Returns the message, "" when fine.
std::string simd_override_error() {
  const char* value = std::getenv("DSCHAT_SIMD");
  if (!value || !*value) return "";
  const std::string v = value;
  if (v == "scalar" || v == "avx2" || v == "avx512") return "";
  std::string shown;
  for (char c : v.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';  // no escapes on the terminal
  return "DSCHAT_SIMD=" + shown + " is not an instruction-set level (scalar, avx2 or avx512)";
}

bool stdout_was_closed = false;  // then whatever the command printed was lost: finish_output says so

// A program started with fd 0, 1 or 2 closed (`dschat <&-`) would get that number for the first
// file it opens (model.safetensors read as chat input, or a conversation written to as "stdout").
// Open /dev/null on each closed one before anything else is opened.
void open_closed_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    if (fd == STDOUT_FILENO) stdout_was_closed = true;
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // the lowest free number: fd
    if (opened > 2) ::close(opened);  // cannot happen while fd is free; never keep a stray descriptor
  }
}

// The output a command printed must have reached its destination: a full disk or /dev/full, or a
// stdout that was closed, is an error (status 1), not a silent success.
int finish_output(const std::string& command, int status) {
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  const int error = errno;
  std::string why;
  if (failed) why = std::string("writing the output failed: ") + (error ? std::strerror(error) : "I/O error");
  else if (stdout_was_closed) why = "standard output is closed: the output was lost";
  if (why.empty()) return status;
  dschat::report_error(command.empty() || command[0] == '-' ? "" : command, why);
  return status == 0 ? 1 : status;
}

}  // namespace

int main(int argc, char** argv) {
  open_closed_standard_fds();
  dschat::Args args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    std::fputs(usage().c_str(), stdout);
    return 0;
  }
  if (!args.empty() && (args[0] == "--version" || args[0] == "-V")) {
    std::printf("dschat %s\n", DSCHAT_VERSION);
    return 0;
  }
  if (const std::string error = simd_override_error(); !error.empty()) {
    std::fprintf(stderr, "dschat: %s\n", dschat::terminal_safe_text(error).c_str());
    return 2;
  }
  std::string command = args.empty() ? "" : args[0];
  dschat::Args rest = args.empty() ? args : dschat::Args(args.begin() + 1, args.end());
  int status = 0;
  try {
    if (command == "run") return finish_output(command, dschat::cmd_run(rest));  // its session reports vanished pages
    if (command.empty() || command[0] == '-') return finish_output(command, dschat::cmd_chat(args));  // so does the chat's
    if (command == "tokenize") status = dschat::cmd_tokenize(rest);
    else if (command == "detokenize") status = dschat::cmd_detokenize(rest);
    else if (command == "logits") status = dschat::cmd_logits(rest);
    else if (command == "bench") status = dschat::cmd_bench(rest);
    else if (command == "info") status = dschat::cmd_info(rest);
    else if (command == "convert") status = dschat::cmd_convert(rest);
    else if (command == "serve") status = dschat::cmd_serve(rest);
    else if (command == "list") status = dschat::cmd_list(rest);
    else {
      std::fprintf(stderr, "dschat: unknown command '%s'\n\n%s", dschat::terminal_safe_text(command).c_str(), usage().c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    status = dschat::report_error(command.empty() || command[0] == '-' ? "" : command, dschat::error_message(e));
    if (command.empty() || command[0] == '-') return status;
  }
  // A model file cut short or written in place while mapped (Model::files_changed): what the
  // command computed after that is not valid.
  if (const std::string what = dschat::model_files_changed_since_start(); !what.empty()) {
    dschat::report_error(command, "the model's files changed on disk while it ran (" + what +
                                      "); its results are not valid");
    return finish_output(command, status == 0 ? 1 : status);
  }
  return finish_output(command, status);
}
