#include "app/cli/remote_option.h"

#include <cstdlib>

namespace dschat {

RemoteArguments remote_arguments(const CommandLine& cl, const std::vector<std::string>& local_only) {
  RemoteArguments args;
  args.url = cl.get_or("--remote", "");
  args.model = cl.get_or("--remote-model", "");
  args.api_key_env = cl.get_or("--api-key-env", "");
  if (args.url.empty()) {
    if (cl.has("--remote-model")) throw CommandLineError("--remote-model needs --remote URL");
    if (cl.has("--api-key-env")) throw CommandLineError("--api-key-env needs --remote URL");
    return args;
  }
  for (const std::string& option : local_only)
    if (cl.has(option)) throw CommandLineError(option + " is for a local model; it does not go with --remote");
  return args;
}

RemoteOptions remote_options(const RemoteArguments& args) {
  RemoteOptions options;
  options.url = args.url;
  options.model = args.model;
  options.api_key_env = args.api_key_env;
  if (!args.api_key_env.empty()) {
    const char* key = std::getenv(args.api_key_env.c_str());
    if (!key || !*key)
      throw CommandLineError("--api-key-env " + args.api_key_env + ": $" + args.api_key_env + " is not set");
    options.api_key = key;
  }
  if (const char* stall = std::getenv("DSCHAT_REMOTE_STALL_SECONDS"); stall && *stall) {
    char* end = nullptr;
    const double seconds = std::strtod(stall, &end);
    if (end == stall || *end || !(seconds >= 0.1 && seconds <= 86400))
      throw CommandLineError("DSCHAT_REMOTE_STALL_SECONDS must be a number of seconds from 0.1 to 86400, not '" +
                             std::string(stall).substr(0, 40) + "'");
    options.http.stall_timeout_ms = static_cast<long>(seconds * 1000 + 0.5);
  }
  return options;
}

}  // namespace dschat
