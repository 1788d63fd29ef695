// dschat run: one prompt, the reply streamed to stdout as it is generated.
//   dschat run [--model DIR | --remote URL [--remote-model NAME] [--api-key-env VAR]] (TEXT | --prompt TEXT|-) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//              [--repeat-penalty R] [--repeat-last-n N] [--seed S] [--template NAME]
//              [--system TEXT] [--ctx N] [--draft N | --no-mtp] [--draft-vocab N] [-t THREADS] [-v]
// The prompt goes through the model's chat template (--template concat gives the raw text).
// Statistics go to stderr with -v only. Exit status: 0 done, 130 interrupted by SIGINT (the
// partial reply stays printed), 1 on errors, 2 on a bad command line.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <sstream>

#include "app/cli/terminal_safe_text.h"
#include "app/backend/chat_template.h"
#include "app/backend/loaded_model.h"
#include "app/chat/chat_session.h"
#include "app/backend/remote_responder.h"
#include "app/backend/stop_strings.h"
#include "app/cli/command_line.h"
#include "app/cli/remote_option.h"
#include "app/cli/model_option.h"
#include "app/cli/sampling_options.h"
#include "app/chat/user_config.h"
#include "app/cli/commands.h"
#include "app/cli/weight_type_option.h"
#include "common/bounded_read.h"
#include "common/out_of_memory.h"

namespace dschat {

namespace {

const char* kRunUsage =
    "usage: dschat run [--model DIR] [options] (TEXT | --prompt TEXT)\n"
    "  Streams the model's reply to one prompt to stdout.\n"
    "  --model PATH|NAME     model directory, .gguf or .pt file, or the name of one in the models\n"
    "                        directory (dschat list; default: the config file's, else the bundled model)\n"
    "  --remote URL          a remote OpenAI-compatible engine instead (e.g. http://HOST:8000/v1);\n"
    "                        --model, --template, --ctx, --draft, --no-mtp, --draft-vocab,\n"
    "                        --cache-type and -t are for a local model and refused with it\n"
    "  --remote-model NAME   the remote model (default: the first the server lists)\n"
    "  --api-key-env VAR     send the API key held in environment variable VAR (default: none)\n"
    "  TEXT, --prompt TEXT   the prompt (the words of TEXT joined by spaces); '-' reads it from stdin\n"
    "  -n, --n-predict N     at most N tokens (default: generation_config.json max_new_tokens,\n"
    "                        else until end of text or a full context; -1 = no limit)\n"
    "  --temp T              temperature (0 = greedy; default from generation_config.json, else 0.7)\n"
    "  --top-k K             keep the K most likely tokens (0 = off)\n"
    "  --top-p P             nucleus sampling (1 = off; default 0.9)\n"
    "  --min-p P             drop tokens below P x the most likely one's probability (0 = off)\n"
    "  --repeat-penalty R    penalise recent tokens (1 = off)\n"
    "  --repeat-last-n N     how many recent tokens the penalty looks at (default 64)\n"
    "  --seed S              random seed (0 = random); the same seed gives the same reply\n"
    "  --stop TEXT           end the reply where TEXT appears (not printed; \\n \\t \\s \\\\ escapes);\n"
    "                        a remote engine gets it as the request's stop\n"
    "  --template NAME       chat template: deepseek-v3, deepseek-v2, concat, plain (default: detected)\n"
    "  --system TEXT         system prompt\n"
    "  --ctx N               context size in tokens (default: the model's maximum)\n"
    "  --draft N             speculative decoding: N tokens drafted per step by the model's MTP\n"
    "                        module (0-3; default 2 when it has one). Greedy (--temp 0): the reply\n"
    "                        is the same token for token, only faster; sampling: drawn from the\n"
    "                        same distribution (speculative sampling), other tokens for a seed\n"
    "  --no-mtp              no speculative decoding (--draft 0)\n"
    "  --draft-vocab N       draft from the first N token ids only (default 8192; 0 = all)\n"
    "  --cache-type TYPE     latent KV cache type: f32 (default), bf16, fp8 (FlashMLA's E4M3 latent\n"
    "                        with a scale per 128 values, rotary key in BF16) or q8_0\n"
    "  -t, --threads N       threads (default: all)\n"
    "  -v, --verbose         statistics on stderr\n"
    "  -h, --help            this help\n";

std::atomic<ChatSession*> g_session{nullptr};
volatile sig_atomic_t g_interrupted = 0;

// First SIGINT: cancel the generation (atomic flag). A second one ends the process at once.
void on_sigint(int) {
  if (g_interrupted) {
    ::signal(SIGINT, SIG_DFL);
    ::raise(SIGINT);
    return;
  }
  g_interrupted = 1;
  if (ChatSession* session = g_session.load()) session->request_cancel();
}

std::string read_stdin() {
  std::string text = read_all_bounded(stdin, kStdinLimit, "stdin");  // InputTooLarge: the command's error
  // `echo text | dschat run --prompt -`: the final newline is not part of the prompt.
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

void print_stats(const TurnResult& r) {
  const GenerationStats& s = r.stats;
  std::fprintf(stderr,
               "prompt: %d tokens (%d reused), %.1f tokens/s\n"
               "reply: %d tokens, %.1f tokens/s, first token after %.3f s\n"
               "stop: %s\n",
               s.prompt_tokens, s.reused_tokens, s.prefill_tokens_per_second, s.generated_tokens,
               s.decode_tokens_per_second, s.time_to_first_token, stop_reason_name(s.stop));
  if (s.verify_steps > 0) {
    std::fprintf(stderr, "draft: %d drafted, %d accepted (%.1f%%), %.2f accepted per step of %d\n", s.drafted_tokens,
                 s.accepted_tokens, 100.0 * s.acceptance_rate(), s.mean_accepted(), s.verify_steps);
  }
}

}  // namespace

int cmd_run(const Args& args) {
  std::optional<CommandLine> cl;
  try {
    std::set<std::string> value_options{"--model", "--prompt", "--n-predict", "--template", "--system", "--ctx",
                                        "--threads", "--draft", "--draft-vocab", "--cache-type", "--remote",
                                        "--remote-model", "--api-key-env", "--stop"};
    value_options.merge(sampling_option_names());
    cl.emplace(args, value_options, std::set<std::string>{"--verbose", "--help", "--no-mtp"},
               std::map<std::string, std::string>{{"-n", "--n-predict"}, {"-t", "--threads"}, {"-v", "--verbose"},
                                                  {"-h", "--help"}});
  } catch (const CommandLineError& e) {
    report_error("run", std::string(e.what()) + " (see dschat run --help)");
    return 2;
  }
  if (cl->has("--help")) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  const bool verbose = cl->has("--verbose");

  ChatSessionOptions options;
  LoadOptions load_options;
  std::string prompt;
  std::optional<std::string> model_dir;
  RemoteArguments remote;
  try {
    remote = remote_arguments(*cl, {"--model", "--template", "--ctx", "--draft", "--no-mtp", "--draft-vocab", "--threads", "--cache-type"});
    // `dschat run "hi"` is `dschat run --prompt "hi"` (as `ollama run MODEL "hi"`); several words are one prompt.
    auto prompt_arg = cl->get("--prompt");
    if (prompt_arg && !cl->positional().empty())
      throw CommandLineError("unexpected argument '" + cl->positional()[0] + "' (the prompt is already given by --prompt)");
    if (!prompt_arg && !cl->positional().empty()) {
      prompt_arg = "";
      for (const std::string& word : cl->positional()) *prompt_arg += (prompt_arg->empty() ? "" : " ") + word;
    }
    if (!prompt_arg) throw CommandLineError("a prompt is required: dschat run TEXT, or --prompt TEXT ('-' reads stdin)");
    prompt = *prompt_arg == "-" ? read_stdin() : *prompt_arg;
    UserConfig config = load_user_config(default_user_config_path());  // UserConfigError: exit 1 below
    model_dir = model_option(cl->get("--model"), config).string();
    options.max_reply_tokens = static_cast<int>(cl->get_int("--n-predict", -1, -1, 100'000'000));
    if (options.max_reply_tokens == 0)
      throw CommandLineError("-n 0 would give an empty reply: use -1 for no limit or a number of tokens");
    options.context_tokens = static_cast<int>(cl->get_int("--ctx", 0, 0, 100'000'000));
    options.draft_tokens = static_cast<int>(cl->get_int("--draft", -1, 0, 3));  // -1: 2 with an MTP module
    if (cl->has("--no-mtp")) {
      if (options.draft_tokens > 0) throw CommandLineError("--no-mtp and --draft N contradict each other");
      options.draft_tokens = 0;
    }
    options.draft_vocab = static_cast<int>(cl->get_int("--draft-vocab", 8192, 0, 100'000'000));
    options.cache_type = parse_cache_type_option(cl->get_or("--cache-type", "f32"));
    options.template_name = cl->get_or("--template", "");
    if (!options.template_name.empty()) ChatTemplate::by_name(options.template_name);  // validate early
    options.system = cl->get_or("--system", "");
    if (auto stop = cl->get("--stop")) options.stop = {parse_stop_string(*stop)};  // std::invalid_argument
    options.autosave = false;
    // Over the directory's defaults (a remote engine: dschat's): the config file's, then the options'.
    options.sampling_overrides = config.sampling;
    options.sampling_options = sampling_overrides(*cl);
    load_options.threads = static_cast<int>(cl->get_int("--threads", 0, 0, 1024));
  } catch (const CommandLineError& e) {
    report_error("run", std::string(e.what()) + " (see dschat run --help)");
    return 2;
  } catch (const std::invalid_argument& e) {
    report_error("run", error_message(e));
    return 2;
  } catch (const UserConfigError& e) {
    return report_error("run", e.what());
  }

  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);

  std::shared_ptr<LoadedModel> model;
  std::unique_ptr<RemoteResponder> remote_responder;
  try {
    if (!remote.url.empty()) {
      std::atomic<bool> no_cancel{false};  // the check is bounded by the connect timeout
      remote_responder = std::make_unique<RemoteResponder>(remote_options(remote), no_cancel);
    } else {
      load_options.progress = [](uint64_t, uint64_t) { return !g_interrupted; };
      model = LoadedModel::load(*model_dir, load_options);
    }
  } catch (const LoadCancelled&) {
    return 130;
  } catch (const CommandLineError& e) {
    report_error("run", e.what());
    return 2;
  } catch (const std::exception& e) {
    return report_error("run", error_message(e));
  }
  if (g_interrupted) return 130;
  if (model)
    for (const std::string& warning : model->warnings) std::fprintf(stderr, "%s\n", terminal_safe_text(warning).c_str());

  std::unique_ptr<ChatSession> session;
  try {
    session = remote_responder ? std::make_unique<ChatSession>(std::move(remote_responder), options)
                               : std::make_unique<ChatSession>(model, options);
  } catch (const std::exception& e) {
    return report_error("run", error_message(e));
  }
  for (const std::string& notice : session->take_notices())  // --ctx beyond the model's maximum
    std::fprintf(stderr, "dschat run: %s\n", terminal_safe_text(notice).c_str());
  if (cl->get("--n-predict") == "-1") session->set_parameter("num_predict", "-1");  // explicitly no limit
  g_session.store(session.get());
  if (g_interrupted) session->request_cancel();

  bool ends_with_newline = true;
  TurnCallbacks callbacks;
  callbacks.on_piece = [&](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    ends_with_newline = piece.back() == '\n';
  };
  callbacks.on_notice = [](const std::string& notice) {
    std::fprintf(stderr, "dschat run: %s\n", terminal_safe_text(notice).c_str());
  };
  TurnResult result = session->submit(prompt, callbacks);
  g_session.store(nullptr);
  if (!ends_with_newline) std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!result.ok) return report_error("run", result.error);
  if (verbose) print_stats(result);
  if (result.interrupted && !g_interrupted && !remote.url.empty()) return 1;  // the connection was lost (said above)
  return result.interrupted || g_interrupted ? 130 : 0;
}

}  // namespace dschat
