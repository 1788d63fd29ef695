// `dschat [--model DIR] [--resume [FILE]]`: the chat. On a terminal it opens the TUI
// (app/tui/app.h). When stdin or stdout is not a terminal it runs in line mode instead: prompts
// are read from stdin one line at a time (""" blocks and /commands work as in the TUI), each reply
// is printed to stdout followed by a newline, notices and errors go to stderr.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/cli/terminal_safe_text.h"
#include "app/backend/loaded_model.h"
#include "app/chat/chat_commands.h"
#include "app/chat/chat_session.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/chat/conversation_store.h"
#include "app/tui/history_file.h"
#include "app/chat/session_backend.h"
#include "app/tui/app.h"
#include "app/tui/input.h"
#include "app/tui/terminal_check.h"
#include "common/bounded_read.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

// The chat's options, also printed by `dschat --help` (main.cpp) and listed in docs/dschat.1
// (tests/e2e/help_man_page_test.sh keeps the three in step).
const char* kChatOptions =
    "  --model PATH      model directory, .gguf or .pt file (default: the bundled demo model,\n"
    "                    or $DSCHAT_MODEL_DIR)\n"
    "  --resume [FILE]   reopen the last conversation, or FILE\n"
    "  --template NAME   chat template: deepseek-v3, deepseek-v2, concat, plain (default: detected)\n"
    "  --system TEXT     system prompt\n"
    "  --ctx N           context size in tokens (default and maximum: the model's; more is clamped\n"
    "                    with a notice)\n"
    "  --draft N         MTP speculative decoding, N drafted tokens per step (1-3; 0 = off, the\n"
    "                    default); greedy (temperature 0) only, same reply token for token\n"
    "  --draft-vocab N   draft from the first N token ids only (default 8192; 0 = all)\n"
    "  -t, --threads N   threads (default: all)\n"
    "  -h, --help        this help\n";

std::string chat_usage() {
  return std::string("usage: dschat [--model PATH] [--resume [FILE]] [--template NAME] [--system TEXT] [--ctx N]\n"
                     "              [--draft N] [--draft-vocab N] [-t N]\n") +
         kChatOptions +
         "On a terminal this opens the chat window; otherwise prompts are read line by line from\n"
         "stdin and replies are written to stdout. Type /? in the chat for its commands.\n";
}

struct ChatArguments {
  std::filesystem::path model_dir;
  bool resume = false;
  std::filesystem::path resume_file;
  ChatSessionOptions session;
  LoadOptions load;
};

// --resume takes an optional value: the next argument when it is not an option.
ChatArguments parse_arguments(const Args& raw) {
  Args args;
  ChatArguments parsed;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == "--resume") {
      parsed.resume = true;
      if (i + 1 < raw.size() && !raw[i + 1].starts_with("-")) parsed.resume_file = raw[++i];
    } else if (raw[i].starts_with("--resume=")) {
      parsed.resume = true;
      parsed.resume_file = raw[i].substr(9);
    } else {
      args.push_back(raw[i]);
    }
  }
  CommandLine cl(args, {"--model", "--template", "--system", "--ctx", "--threads", "--draft", "--draft-vocab"}, {"--help"},
                 {{"-t", "--threads"}, {"-h", "--help"}});
  if (cl.has("--help")) {
    std::fputs(chat_usage().c_str(), stdout);
    std::exit(0);
  }
  if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
  parsed.model_dir = cl.get_or("--model", default_model_dir());
  parsed.session.template_name = cl.get_or("--template", "");
  parsed.session.system = cl.get_or("--system", "");
  parsed.session.context_tokens = static_cast<int>(cl.get_int("--ctx", 0, 0, 1 << 24));
  parsed.session.draft_tokens = static_cast<int>(cl.get_int("--draft", 0, 0, 3));
  parsed.session.draft_vocab = static_cast<int>(cl.get_int("--draft-vocab", 8192, 0, 100'000'000));
  parsed.load.threads = static_cast<int>(cl.get_int("--threads", 0, 0, 4096));
  return parsed;
}

// The conversation --resume means, or empty with `notice` saying why.
std::filesystem::path resume_target(const ChatArguments& args, std::string& notice) {
  if (!args.resume) return {};
  if (!args.resume_file.empty()) return args.resume_file;
  std::filesystem::path latest = ConversationStore(args.session.conversations_dir).latest();
  if (latest.empty()) notice = "No earlier conversation to resume; starting a new one.";
  return latest;
}

ChatSession* line_session = nullptr;
void cancel_line_reply(int) {
  if (line_session) line_session->request_cancel();  // an atomic store
}
// SIGTERM / SIGHUP: stop the reply as Ctrl+C does (the session keeps and autosaves what was said),
// then leave with 128 + the signal's number, as the default action would have, but nothing lost.
volatile sig_atomic_t line_terminate_signal = 0;
void terminate_line_mode(int signal) {
  line_terminate_signal = signal;
  if (line_session) line_session->request_cancel();
}

// `interactive`: stdin and stdout are a terminal that cannot hold the chat window (TERM=dumb...):
// prompts are shown, Ctrl+C at a prompt clears it instead of ending, and the exit line is printed.
int run_line_mode(const ChatArguments& args, bool interactive) {
  std::string resume_notice;
  std::filesystem::path resume = resume_target(args, resume_notice);
  if (!resume_notice.empty()) std::fprintf(stderr, "%s\n", terminal_safe_text(resume_notice).c_str());
  if (!std::filesystem::exists(args.model_dir)) {
    return report_error("", args.model_dir.string() + ": no such model directory (use --model DIR)");
  }
  std::shared_ptr<LoadedModel> model = LoadedModel::load(args.model_dir, args.load);
  for (const std::string& warning : model->warnings) std::fprintf(stderr, "%s\n", terminal_safe_text(warning).c_str());
  if (!model->identity.notice.empty()) std::fprintf(stderr, "%s\n", terminal_safe_text(model->identity.notice).c_str());
  ChatSession session(model, args.session);
  for (const std::string& notice : session.take_notices()) std::fprintf(stderr, "%s\n", terminal_safe_text(notice).c_str());
  if (!resume.empty()) session.load(resume);
  line_session = &session;
  struct sigaction sa {};
  sa.sa_handler = cancel_line_reply;
  sigaction(SIGINT, &sa, nullptr);  // Ctrl+C stops the reply being printed, not the program
  struct sigaction term {};
  term.sa_handler = terminate_line_mode;  // no SA_RESTART: a read of stdin returns, and the loop ends
  sigaction(SIGTERM, &term, nullptr);
  sigaction(SIGHUP, &term, nullptr);
  auto exit_status = [] { return line_terminate_signal ? 128 + line_terminate_signal : 0; };

  TurnCallbacks callbacks;
  callbacks.on_piece = [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };
  callbacks.on_notice = [](const std::string& text) { std::fprintf(stderr, "%s\n", terminal_safe_text(text).c_str()); };
  auto report_turn = [](const TurnResult& result) {
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!result.ok) std::fprintf(stderr, "error: %s\n", terminal_safe_text(result.error).c_str());
    if (result.save_error) std::fprintf(stderr, "autosave failed: %s\n", terminal_safe_text(*result.save_error).c_str());
  };
  MultilineInput multiline;
  std::string line;
  bool too_long = false;
  uint64_t line_number = 0;
  auto prompt = [&] {
    if (!interactive) return;
    std::fputs(multiline.in_block() ? "... " : ">>> ", stdout);
    std::fflush(stdout);
  };
  auto print_exit_line = [&] {
    if (!interactive) return;
    std::error_code ec;
    std::filesystem::path saved = session.file_path();
    if (!saved.empty() && std::filesystem::exists(saved, ec)) {
      std::fprintf(stderr, "%s\n", terminal_safe_text(resume_line(saved)).c_str());
    }
  };
  while (true) {
    prompt();
    if (line_terminate_signal) break;
    if (!read_line_bounded(stdin, line, kInputLineLimit, too_long)) {
      // Ctrl+C at a prompt interrupts the read (SIGINT has no SA_RESTART): a new prompt.
      if (interactive && std::ferror(stdin) && errno == EINTR && !line_terminate_signal) {
        std::clearerr(stdin);
        multiline.reset();
        std::fputc('\n', stdout);
        continue;
      }
      if (interactive) std::fputc('\n', stdout);
      break;
    }
    ++line_number;
    // A line (or a """ block) past the limit is dropped with the reason, never held whole: a 1 GB
    // line without a newline took 14 GB before this bound.
    if (too_long || multiline.buffered_bytes() + line.size() > kInputLineLimit.max_bytes) {
      std::fprintf(stderr, "error: %s; it was not sent\n",
                   line_too_long_message("stdin", line_number, kInputLineLimit).c_str());
      multiline.reset();
      continue;
    }
    std::optional<std::string> message = multiline.submit(line);
    if (!message || message->find_first_not_of(" \t\n") == std::string::npos) continue;
    ChatCommand command = parse_chat_command(*message);
    using K = ChatCommand::Kind;
    try {
      switch (command.kind) {
        case K::Message: report_turn(session.submit(command.text, callbacks)); break;
        case K::Regenerate: report_turn(session.regenerate(callbacks)); break;
        case K::Help: std::fprintf(stderr, "%s\n", chat_help_text(command.text).c_str()); break;
        case K::SetParameter: session.set_parameter(command.name, command.text); break;
        case K::SetSystem: session.set_system_prompt(command.text); break;
        case K::Show: {
          std::string text = command.name == "info"         ? session.model_info()
                             : command.name == "parameters" ? session.parameters_text()
                             : command.name == "system"     ? session.system_prompt()
                                                            : session.template_name() + "\n" + session.template_text();
          std::printf("%s\n", text.c_str());
          break;
        }
        case K::Clear: session.clear(); break;
        case K::Undo:
          if (!session.undo()) std::fprintf(stderr, "nothing to undo\n");
          break;
        case K::Save:
          std::fprintf(stderr, "saved to %s\n", terminal_safe_text(session.save(command.text).string()).c_str());
          break;
        case K::Load: session.load(command.text); break;
        case K::Export:
          if (command.name == "md") {
            session.export_markdown(command.text);
          } else {
            session.export_json(command.text);
          }
          std::fprintf(stderr, "exported to %s\n", terminal_safe_text(command.text).c_str());
          break;
        case K::Stats: break;
        case K::Exit:
          line_session = nullptr;
          print_exit_line();
          return exit_status();
        case K::Invalid: std::fprintf(stderr, "%s\n", terminal_safe_text(command.error).c_str()); break;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", terminal_safe_text(error_message(e)).c_str());
    }
    for (const std::string& notice : session.take_notices()) std::fprintf(stderr, "%s\n", notice.c_str());
  }
  line_session = nullptr;
  print_exit_line();
  return exit_status();
}

int run_terminal_mode(const ChatArguments& args) {
  ChatAppOptions options;
  try {
    options.model_label = model_identity(args.model_dir).display_name;  // until the model has loaded
  } catch (const std::exception&) {
    options.model_label = args.model_dir.filename().string();  // the load reports what is wrong
  }
  options.resume = resume_target(args, options.resume_notice);
  if (const char* no_history = std::getenv("DSCHAT_NOHISTORY"); !(no_history && *no_history && std::string(no_history) != "0")) {
    options.history_path = default_history_path();
  }
  const char* no_color = std::getenv("NO_COLOR");
  options.colour = !(no_color && *no_color);
  auto backend = std::make_unique<SessionBackend>(args.model_dir, args.session, args.load);
  return run_chat_tui(std::move(backend), options);
}

}  // namespace

const char* chat_options_help() { return kChatOptions; }

int cmd_chat(const Args& args) {
  ChatArguments parsed;
  try {
    parsed = parse_arguments(args);
  } catch (const CommandLineError& e) {
    report_error("", e.what());
    std::fputs(chat_usage().c_str(), stderr);
    return 2;
  }
  std::setlocale(LC_ALL, "");
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return run_line_mode(parsed, false);
  std::string why = terminal_unusable_reason();
  if (why.empty()) why = use_utf8_locale();
  if (!why.empty()) {
    std::fprintf(stderr, "dschat: %s: plain line mode (/? for help, Ctrl+D or /bye to quit)\n",
                 terminal_safe_text(why).c_str());
    return run_line_mode(parsed, true);
  }
  return run_terminal_mode(parsed);
}

}  // namespace dschat
