// `--remote URL [--remote-model NAME] [--api-key-env VAR]` of the chat and `dschat run`: the
// options of a remote OpenAI-compatible engine (app/backend/remote_responder.h) as given, and the
// RemoteOptions they mean. The key is read from the variable named by --api-key-env only (no
// default variable: a key is never sent to a server the user did not name it for).
#pragma once

#include <optional>
#include <string>

#include "app/backend/remote_responder.h"
#include "app/cli/command_line.h"

namespace dschat {

struct RemoteArguments {
  std::string url;  // "" = no --remote
  std::string model;
  std::string api_key_env;
};

// The remote options of `cl` (its value options must include --remote, --remote-model,
// --api-key-env). --remote-model or --api-key-env without --remote is a CommandLineError, as is
// a model option (`local_only`, e.g. "--model") given together with --remote.
RemoteArguments remote_arguments(const CommandLine& cl, const std::vector<std::string>& local_only);

// The RemoteOptions for `args` (the key from the environment). Throws CommandLineError when
// --api-key-env names a variable that is not set.
RemoteOptions remote_options(const RemoteArguments& args);

}  // namespace dschat
