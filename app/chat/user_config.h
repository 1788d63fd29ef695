// The user's defaults: $XDG_CONFIG_HOME/dschat/config.json (default ~/.config/dschat/config.json),
// one JSON object, every key optional:
//   {"model": "NAME or PATH", "temperature": 0.6, "top_p": 0.95, "top_k": 40, "min_p": 0.05,
//    "repeat_penalty": 1.1, "repeat_last_n": 64, "seed": 7,
//    "markdown": true, "think": "show" | "fold" | "hide", "colour": false}
// The sampling keys are /set parameter's names and are checked with its ranges; the command line
// goes over all of them. The file is read as untrusted input: a regular file of at most 1 MiB,
// nesting bounded; every error names the file and the key (an unknown key too: a typo is not
// silently ignored). docs/chat.md "Defaults".
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "app/chat/chat_session.h"

namespace dschat {

struct UserConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UserConfig {
  std::filesystem::path file;          // where it was read from ("" = there was none)
  std::optional<std::string> model;    // --model's default: a path ("~" expanded) or a models-directory name
  SamplingOverrides sampling;          // each key once (so their order does not matter)
  std::optional<bool> markdown;        // /set markdown on|off
  std::optional<std::string> think;    // /set think show|fold|hide
  std::optional<bool> colour;          // false: no colours (as NO_COLOR)
};

// $XDG_CONFIG_HOME/dschat/config.json, default ~/.config/dschat/config.json ("" without a home).
std::filesystem::path default_user_config_path();

// The settings in `text`, the contents of the file `name`. Throws UserConfigError
// ("NAME: \"temperature\": temperature must be between 0 and 100").
UserConfig parse_user_config(const std::string& text, const std::string& name);

// The file at `path` parsed; an empty UserConfig when there is no file. Throws UserConfigError
// (also for a file that is not a regular file or is larger than 1 MiB).
UserConfig load_user_config(const std::filesystem::path& path);

}  // namespace dschat
