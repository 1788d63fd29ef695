// `dschat [--model DIR | --remote URL] [--resume [FILE]]`: the chat. On a terminal it opens the TUI
// (app/tui/app.h). When stdin or stdout is not a terminal it runs in line mode instead: prompts
// are read from stdin one line at a time (""" blocks and /commands work as in the TUI), each reply
// is printed to stdout followed by a newline, notices and errors go to stderr.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "app/cli/terminal_safe_text.h"
#include "app/backend/loaded_model.h"
#include "app/backend/local_responder.h"
#include "app/chat/chat_commands.h"
#include "app/chat/chat_session.h"
#include "app/cli/command_line.h"
#include "app/cli/remote_option.h"
#include "app/cli/conversation_picker.h"
#include "app/cli/model_option.h"
#include "app/cli/sampling_options.h"
#include "app/chat/user_config.h"
#include "app/cli/commands.h"
#include "app/chat/conversation_list.h"
#include "app/chat/conversation_store.h"
#include "app/cli/weight_type_option.h"
#include "app/tui/history_file.h"
#include "app/chat/session_backend.h"
#include "app/tui/app.h"
#include "app/tui/clipboard.h"
#include "app/tui/input.h"
#include "app/tui/terminal_check.h"
#include "common/bounded_read.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

// The chat's options, also printed by `dschat --help` (main.cpp) and listed in docs/dschat.1
// (tests/e2e/help_man_page_test.sh keeps the three in step).
const char* kChatOptions =
    "  --model PATH|NAME model directory, .gguf or .pt file, or NAME in the models directory\n"
    "                    (dschat list); default: $DSCHAT_MODEL_DIR, the config file's \"model\",\n"
    "                    else the bundled demo model\n"
    "  --remote URL      chat with a remote OpenAI-compatible engine (vLLM, SGLang, llama-server,\n"
    "                    dschat serve) at URL, e.g. http://HOST:8000/v1 (/v1 is added to a bare\n"
    "                    host); the local model's options below are refused with it\n"
    "  --remote-model NAME  the remote model (default: the first the server lists)\n"
    "  --api-key-env VAR send the API key held in environment variable VAR (default: no key)\n"
    "  --resume [ARG]    reopen the last conversation (on a terminal with several: asks which),\n"
    "                    or ARG: a number from --conversations, a file, or the start of a title\n"
    "  --conversations   list the saved conversations (numbered, newest first) and exit\n"
    "  --save            without a terminal (line mode), save the conversation too (a\n"
    "                    terminal chat is always saved)\n"
    "  --template NAME   chat template: deepseek-v3, deepseek-v2, concat, plain (default: detected)\n"
    "  --system TEXT     system prompt\n"
    "  --temp T          temperature (0 = greedy; default: generation_config.json, else 0.7)\n"
    "  --top-k K         keep the K most likely tokens (0 = off)\n"
    "  --top-p P         nucleus sampling (1 = off; default 0.9)\n"
    "  --min-p P         drop tokens below P x the most likely one's probability (0 = off)\n"
    "  --repeat-penalty R  penalise recent tokens (1 = off)\n"
    "  --repeat-last-n N how many recent tokens the penalty looks at (default 64)\n"
    "  --seed S          random seed (0 = random); the same seed gives the same replies.\n"
    "                    The sampling options are /set parameter's and go over the model's\n"
    "                    defaults, the config file and a resumed conversation's own values\n"
    "  --ctx N           context size in tokens (default and maximum: the model's; more is clamped\n"
    "                    with a notice)\n"
    "  --draft N         MTP speculative decoding, N drafted tokens per step (0-3; default 2 when\n"
    "                    the model has an MTP module); greedy: the same reply token for token;\n"
    "                    sampling: the same distribution (speculative sampling), other tokens\n"
    "                    for a seed. In the chat: /set draft N\n"
    "  --no-mtp          no speculative decoding (--draft 0)\n"
    "  --draft-vocab N   draft from the first N token ids only (default 8192; 0 = all)\n"
    "  --cache-type TYPE latent KV cache type: f32 (default), bf16, fp8 (FlashMLA's E4M3 latent\n"
    "                    with a scale per 128 values, rotary key in BF16) or q8_0\n"
    "  -t, --threads N   threads (default: all)\n"
    "  -h, --help        this help\n";

std::string chat_usage() {
  // Appended piecewise: GCC 12 at -O1 (the sanitizer builds) reports std::string + const char* of
  // these sizes as -Warray-bounds, a false positive.
  std::string usage = "usage: dschat [--model PATH] [--resume [ARG]] [--template NAME] [--system TEXT] [--ctx N]\n"
                      "              [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [--seed S]\n"
                      "              [--draft N | --no-mtp] [--draft-vocab N] [--cache-type TYPE] [-t N] [--save]\n"
                      "       dschat --remote URL [--remote-model NAME] [--api-key-env VAR] [--resume [ARG]]\n"
                      "              [--system TEXT] [--temp T] ... [--save]\n"
                      "       dschat --conversations\n";
  usage += kChatOptions;
  usage += "Defaults (model, sampling, markdown, think, colour) can be set in\n"
           "$XDG_CONFIG_HOME/dschat/config.json (~/.config/dschat/config.json); options go over them.\n"
           "On a terminal this opens the chat window; otherwise prompts are read line by line from\n"
           "stdin and replies are written to stdout. Type /? in the chat for its commands.\n";
  return usage;
}

struct ChatArguments {
  std::optional<std::string> model_arg;  // --model as given
  std::filesystem::path model_dir;       // what it means (model_option), set with the config file
  UserConfig config;
  RemoteArguments remote;  // remote.url "" = the local model
  bool resume = false;
  std::string resume_file;  // a file, a number from --conversations or a title's start
  bool list_conversations = false;
  bool save_line_mode = false;
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
  std::set<std::string> value_options{"--model", "--template", "--system", "--ctx", "--threads", "--draft",
                                      "--draft-vocab", "--cache-type", "--remote", "--remote-model", "--api-key-env"};
  value_options.merge(sampling_option_names());
  CommandLine cl(args, value_options, {"--help", "--no-mtp", "--conversations", "--save"},
                 {{"-t", "--threads"}, {"-h", "--help"}});
  if (cl.has("--help")) {
    std::fputs(chat_usage().c_str(), stdout);
    std::exit(0);
  }
  if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
  parsed.remote = remote_arguments(cl, {"--model", "--template", "--ctx", "--draft", "--no-mtp", "--draft-vocab", "--threads", "--cache-type"});
  parsed.list_conversations = cl.has("--conversations");
  parsed.save_line_mode = cl.has("--save");
  parsed.model_arg = cl.get("--model");
  parsed.session.template_name = cl.get_or("--template", "");
  parsed.session.system = cl.get_or("--system", "");
  parsed.session.sampling_options = sampling_overrides(cl);
  parsed.session.context_tokens = static_cast<int>(cl.get_int("--ctx", 0, 0, 1 << 24));
  parsed.session.draft_tokens = static_cast<int>(cl.get_int("--draft", -1, 0, 3));  // -1: 2 with an MTP module
  if (cl.has("--no-mtp")) {
    if (parsed.session.draft_tokens > 0) throw CommandLineError("--no-mtp and --draft N contradict each other");
    parsed.session.draft_tokens = 0;
  }
  parsed.session.draft_vocab = static_cast<int>(cl.get_int("--draft-vocab", 8192, 0, 100'000'000));
  parsed.session.cache_type = parse_cache_type_option(cl.get_or("--cache-type", "f32"));
  parsed.load.threads = static_cast<int>(cl.get_int("--threads", 0, 0, 4096));
  return parsed;
}

// The conversation --resume means, or empty with `notice` saying why; nullopt: the user chose to
// leave. `ask`: on a terminal, a bare --resume with several conversations asks which (newest first).
std::optional<std::filesystem::path> resume_target(const ChatArguments& args, std::string& notice, bool ask) {
  if (!args.resume) return std::filesystem::path();
  ConversationStore store(args.session.conversations_dir);
  if (!args.resume_file.empty()) {
    // A number or a title from the listing; a path as it is (a missing file is reported by the load).
    try {
      return resolve_conversation(store.list(), args.resume_file);
    } catch (const ConversationError&) {
      if (args.resume_file.find_first_not_of("0123456789") == std::string::npos) throw;
      return expand_home(args.resume_file);
    }
  }
  if (ask) {
    const std::vector<ConversationFileInfo> conversations = store.list();
    if (conversations.size() > 1) {
      const ConversationPick pick = pick_conversation(conversations, stdin, stdout);
      if (pick.kind == ConversationPick::Kind::Quit) return std::nullopt;
      return pick.path;  // "" for a new conversation
    }
  }
  std::filesystem::path latest = store.latest();
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
  const std::optional<std::filesystem::path> resume_choice = resume_target(args, resume_notice, interactive);
  if (!resume_choice) return 0;
  const std::filesystem::path resume = *resume_choice;
  if (!resume_notice.empty()) std::fprintf(stderr, "%s\n", terminal_safe_text(resume_notice).c_str());
  std::unique_ptr<Responder> responder;
  if (!args.remote.url.empty()) {
    std::atomic<bool> no_cancel{false};
    auto remote = std::make_unique<RemoteResponder>(remote_options(args.remote), no_cancel);
    std::fprintf(stderr, "%s\n", terminal_safe_text(remote->display_name()).c_str());
    responder = std::move(remote);
  } else {
    if (!std::filesystem::exists(args.model_dir)) {
      return report_error("", args.model_dir.string() + ": no such model directory (use --model DIR)");
    }
    std::shared_ptr<LoadedModel> model = LoadedModel::load(args.model_dir, args.load);
    for (const std::string& warning : model->warnings) std::fprintf(stderr, "%s\n", terminal_safe_text(warning).c_str());
    if (!model->identity.notice.empty()) std::fprintf(stderr, "%s\n", terminal_safe_text(model->identity.notice).c_str());
    responder = std::make_unique<LocalResponder>(
        model, LocalResponderOptions{args.session.template_name, args.session.context_tokens, args.session.draft_tokens,
                                     args.session.draft_vocab, args.session.cache_type});
  }
  ChatSessionOptions session_options = args.session;
  // `echo hi | dschat` is a one-off: saved only when asked (--save), not one more file each time;
  // a person chatting on a plain terminal (TERM=dumb) is saved as in the chat window.
  session_options.autosave = args.save_line_mode || interactive;
  ChatSession session(std::move(responder), session_options);
  for (const std::string& notice : session.take_notices()) std::fprintf(stderr, "%s\n", terminal_safe_text(notice).c_str());
  if (!resume.empty()) session.load(resume);
  for (const std::string& notice : session.take_notices()) std::fprintf(stderr, "%s\n", terminal_safe_text(notice).c_str());
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
    if (result.message_kept) std::fputs("your message is kept: /regen sends it again, /undo removes it\n", stderr);
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
        case K::Save: {
          const std::filesystem::path target = command.text.empty() ? std::filesystem::path() : expand_home(command.text);
          std::fprintf(stderr, "saved to %s\n", terminal_safe_text(session.save(target).string()).c_str());
          break;
        }
        case K::Load: session.load(resolve_conversation(session.store().list(), command.text)); break;
        case K::List: {
          const std::string list = format_conversation_list(session.store().list());
          std::printf("%s\n", list.empty() ? "no saved conversations yet" : list.c_str());
          break;
        }
        case K::SetThink:
        case K::SetMarkdown:
          std::fprintf(stderr, "without a terminal replies are printed as they are written\n");
          break;
        case K::Export:
          if (command.name == "md") {
            session.export_markdown(expand_home(command.text));
          } else {
            session.export_json(expand_home(command.text));
          }
          std::fprintf(stderr, "exported to %s\n", terminal_safe_text(command.text).c_str());
          break;
        case K::Stats: break;
        case K::Copy: {
          // Line mode prints replies raw and has no window, but a real terminal can still take OSC 52.
          const std::string why = clipboard_unavailable_reason(std::getenv("TERM"), isatty(STDOUT_FILENO));
          if (!why.empty()) {
            std::fprintf(stderr, "%s\n", why.c_str());
            break;
          }
          std::string reason;
          const Conversation conversation = session.conversation();
          const std::optional<CopyChoice> choice = choose_copy(conversation, command.text, reason);
          if (!choice) {
            std::fprintf(stderr, "%s\n", reason.c_str());
          } else if (choice->text.size() > kMaxCopyBytes) {
            std::fprintf(stderr, "not copied: %s has %zu bytes, more than terminals take by OSC 52\n",
                         choice->description.c_str(), choice->text.size());
          } else {
            const char* tmux = std::getenv("TMUX");
            const std::string sequence = osc52_sequence(choice->text, tmux && *tmux);
            std::fwrite(sequence.data(), 1, sequence.size(), stdout);
            std::fflush(stdout);
            std::fprintf(stderr, "copied %s (%zu bytes) to the clipboard by OSC 52\n", choice->description.c_str(),
                         choice->text.size());
          }
          break;
        }
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
  std::unique_ptr<SessionBackend> backend;
  if (!args.remote.url.empty()) {
    RemoteOptions remote = remote_options(args.remote);  // a missing key is reported before the window opens
    const std::string base = normalise_base_url(remote.url);
    const ParsedUrl url = parse_http_url(base);
    options.model_label = "remote: " + (remote.model.empty() ? std::string("...") : remote.model) + " @ " + url.host +
                          (url.port.empty() ? "" : ":" + url.port);
    backend = std::make_unique<SessionBackend>(
        [remote](const LoadProgress&) {
          std::atomic<bool> no_cancel{false};  // bounded by the connect timeout
          auto responder = std::make_unique<RemoteResponder>(remote, no_cancel);
          std::string name = responder->display_name();
          return SessionBackend::MadeResponder{std::move(responder), std::move(name)};
        },
        args.session);
  }
  if (!backend) {
    try {
      options.model_label = model_identity(args.model_dir).display_name;  // until the model has loaded
    } catch (const std::exception&) {
      options.model_label = args.model_dir.filename().string();  // the load reports what is wrong
    }
  }
  const std::optional<std::filesystem::path> resume = resume_target(args, options.resume_notice, /*ask=*/true);
  if (!resume) return 0;
  options.resume = *resume;
  options.conversations_dir = args.session.conversations_dir;
  if (const char* no_history = std::getenv("DSCHAT_NOHISTORY"); !(no_history && *no_history && std::string(no_history) != "0")) {
    options.history_path = default_history_path();
  }
  const char* no_color = std::getenv("NO_COLOR");
  options.colour = !(no_color && *no_color) && args.config.colour.value_or(true);
  options.markdown = args.config.markdown.value_or(true);
  const std::string think = args.config.think.value_or("fold");
  options.think = think == "show" ? ThinkDisplay::Show : think == "hide" ? ThinkDisplay::Hide : ThinkDisplay::Fold;
  if (!backend) backend = std::make_unique<SessionBackend>(args.model_dir, args.session, args.load);
  ChatExitView view;
  const int status = run_chat_tui(std::move(backend), options, &view);
  // The window was the alternate screen: its last view of the conversation stays on the normal
  // screen (as after ollama run), then where it was saved and how to resume it.
  for (const std::string& line : view.lines) std::printf("%s\n", terminal_safe_text(line).c_str());
  if (!view.resume.empty()) std::printf("%s\n", terminal_safe_text(view.resume).c_str());
  std::fflush(stdout);
  return status;
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
  try {
    parsed.config = load_user_config(default_user_config_path());
  } catch (const UserConfigError& e) {
    return report_error("", e.what());
  }
  parsed.model_dir = model_option(parsed.model_arg, parsed.config);
  parsed.session.sampling_overrides = parsed.config.sampling;  // the command line's (sampling_options) go over it
  try {
    if (parsed.list_conversations) {
      const std::string list = format_conversation_list(ConversationStore(parsed.session.conversations_dir).list());
      if (list.empty()) {
        std::fprintf(stderr, "no saved conversations in %s\n",
                     terminal_safe_text(ConversationStore(parsed.session.conversations_dir).dir().string()).c_str());
      } else {
        std::printf("%s\n", terminal_safe_text(list).c_str());
      }
      return 0;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return run_line_mode(parsed, false);
    std::string why = terminal_unusable_reason();
    if (why.empty()) why = use_utf8_locale();
    if (!why.empty()) {
      std::fprintf(stderr, "dschat: %s: plain line mode (/? for help, Ctrl+D or /bye to quit)\n",
                   terminal_safe_text(why).c_str());
      return run_line_mode(parsed, true);
    }
    return run_terminal_mode(parsed);
  } catch (const CommandLineError& e) {
    return report_error("", e.what());
  }
}

}  // namespace dschat
