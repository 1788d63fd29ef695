// dschat serve: the loaded model behind an OpenAI-compatible HTTP API (app/server/server.h,
// docs/serving.md).
//   dschat serve [--model DIR] [--host 127.0.0.1] [--port 8080] [--api-key-env VAR] [--parallel N]
//                [--ctx N] [--template NAME] [--type TYPE] [--type-output TYPE] [-t THREADS]
// Prints "dschat serve: listening on http://HOST:PORT (model NAME)" to stderr once it accepts
// connections, then one access-log line per request. SIGINT/SIGTERM: stop accepting, finish the
// requests being answered, exit 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "app/backend/chat_template.h"
#include "app/backend/loaded_model.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/model_option.h"
#include "app/cli/terminal_safe_text.h"
#include "app/cli/weight_type_option.h"
#include "app/server/server.h"
#include "common/out_of_memory.h"

namespace dschat {

namespace {

const char* kServeUsage =
    "usage: dschat serve [--model DIR] [options]\n"
    "  Serves the model over an OpenAI-compatible HTTP API: POST /v1/chat/completions,\n"
    "  POST /v1/completions, GET /v1/models, GET /health (see docs/serving.md).\n"
    "  --model DIR|NAME      model directory or file, or a NAME of dschat list (default: the bundled model)\n"
    "  --host ADDR           address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N              port (default 8080; 0 = a free one, printed at start)\n"
    "  --api-key-env VAR     require 'Authorization: Bearer KEY', KEY read from $VAR\n"
    "  --parallel N          requests answered at once, each in its own context (default 1);\n"
    "                        the others wait\n"
    "  --ctx N               context size of each, in tokens (default: the model's maximum)\n"
    "  --template NAME       chat template: deepseek-v3, deepseek-v2, concat, plain (default: detected)\n"
    "  --type TYPE           weight type at run time: f32, bf16, q8_0, q4_0 (default: the checkpoint's)\n"
    "  --type-output TYPE    weight type of lm_head and embeddings (default: as --type)\n"
    "  -t, --threads N       threads (default: all)\n"
    "  -h, --help            this help\n";

}  // namespace

int cmd_serve(const Args& args) {
  std::optional<CommandLine> cl;
  ServerOptions options;
  LoadOptions load_options;
  std::string model_dir;
  try {
    cl.emplace(args,
               std::set<std::string>{"--model", "--host", "--port", "--api-key-env", "--parallel", "--ctx",
                                     "--template", "--type", "--type-output", "--threads"},
               std::set<std::string>{"--help"},
               std::map<std::string, std::string>{{"-t", "--threads"}, {"-h", "--help"}});
    if (cl->has("--help")) {
      std::fputs(kServeUsage, stdout);
      return 0;
    }
    if (!cl->positional().empty()) throw CommandLineError("unexpected argument '" + cl->positional()[0] + "'");
    model_dir = model_option(cl->get("--model"), UserConfig{}).string();  // a NAME of dschat list too
    options.host = cl->get_or("--host", "127.0.0.1");
    if (options.host.empty()) throw CommandLineError("--host must not be empty");
    options.port = static_cast<int>(cl->get_int("--port", 8080, 0, 65535));
    options.parallel = static_cast<int>(cl->get_int("--parallel", 1, 1, 64));
    options.context_tokens = static_cast<int>(cl->get_int("--ctx", 0, 0, 100'000'000));
    options.template_name = cl->get_or("--template", "");
    if (!options.template_name.empty()) ChatTemplate::by_name(options.template_name);  // validate early
    if (auto var = cl->get("--api-key-env")) {
      const char* key = std::getenv(var->c_str());
      if (!key || !*key)
        throw CommandLineError("--api-key-env " + *var + ": the environment variable " + *var + " is not set or empty");
      options.api_key = key;
    }
    const TypeChoice type = parse_weight_type("--type", cl->get_or("--type", "native"));
    load_options.weight_type = type.type;
    load_options.output_weight_type =
        cl->has("--type-output") ? parse_weight_type("--type-output", *cl->get("--type-output")).type : type.type;
    load_options.threads = static_cast<int>(cl->get_int("--threads", 0, 0, 1024));
  } catch (const CommandLineError& e) {
    report_error("serve", std::string(e.what()) + " (see dschat serve --help)");
    return 2;
  } catch (const std::invalid_argument& e) {
    report_error("serve", error_message(e));
    return 2;
  }

  // SIGINT and SIGTERM go to one thread that stops the server; every other thread (httplib's
  // workers, the engine's pool) inherits the blocked mask from here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client that closed its socket is a failed write, not a death

  std::shared_ptr<LoadedModel> model;
  std::unique_ptr<Server> server;
  int port = 0;
  try {
    model = LoadedModel::load(model_dir, load_options);
    for (const std::string& warning : model->warnings)
      std::fprintf(stderr, "%s\n", terminal_safe_text(warning).c_str());
    server = std::make_unique<Server>(model, options);
    port = server->bind();
  } catch (const std::exception& e) {
    return report_error("serve", error_message(e));
  }

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 100'000'000};
    while (!done.load()) {
      if (sigtimedwait(&signals, nullptr, &tick) > 0) {
        std::fprintf(stderr, "dschat serve: stopping (finishing the requests being answered)\n");
        server->stop();
        return;
      }
    }
  });
  const bool ipv6 = options.host.find(':') != std::string::npos;
  std::fprintf(stderr, "dschat serve: listening on http://%s%s%s:%d (model %s)\n", ipv6 ? "[" : "",
               terminal_safe_text(options.host).c_str(), ipv6 ? "]" : "", port,
               terminal_safe_text(server->model_id()).c_str());
  std::fflush(stderr);
  server->run();
  done.store(true);
  signal_thread.join();
  server.reset();
  std::fprintf(stderr, "dschat serve: stopped\n");
  return 0;
}

}  // namespace dschat
