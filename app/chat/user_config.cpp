#include "app/chat/user_config.h"

#include <nlohmann/json.hpp>

#include "app/chat/xdg_directories.h"
#include "common/json_limits.h"
#include "common/regular_file.h"
#include "engine/sampler.h"

namespace dschat {

namespace {

const char* const kSamplingKeys[] = {"temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed"};
constexpr int kConfigDepth = 8;  // the file is one flat object
// Far above any config of a dozen keys; a larger file is refused before it is read.
constexpr FileLimit kUserConfigLimit{1 * kMiB, "the dschat config file"};

std::string known_keys() {
  std::string keys = "model";
  for (const char* k : kSamplingKeys) keys += std::string(", ") + k;
  return keys + ", markdown, think, colour";
}

bool is_sampling_key(const std::string& key) {
  for (const char* k : kSamplingKeys)
    if (key == k) return true;
  return false;
}

}  // namespace

std::filesystem::path default_user_config_path() {
  const std::filesystem::path base = xdg_base_directory("XDG_CONFIG_HOME", ".config");
  return base.empty() ? base : base / "dschat" / "config.json";
}

UserConfig parse_user_config(const std::string& text, const std::string& name) {
  nlohmann::json root;
  try {
    root = parse_json_bounded(text, kConfigDepth);
  } catch (const JsonTooDeep&) {
    throw UserConfigError(name + ": nested deeper than a config file is (" + std::to_string(kConfigDepth) + " levels)");
  } catch (const nlohmann::json::exception& e) {
    throw UserConfigError(name + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw UserConfigError(name + ": must be a JSON object ({\"key\": value, ...}), not " + json_summary(root));
  UserConfig config;
  for (const auto& item : root.items()) {
    // (not a structured binding: clang before C++20 cannot capture one in the lambda)
    const std::string key = item.key();
    const nlohmann::json& value = item.value();
    auto bad = [&](const std::string& why) { return UserConfigError(name + ": \"" + key + "\": " + why); };
    if (key == "model") {
      if (!value.is_string() || value.get<std::string>().empty()) throw bad("must be a model name or path (a string), not " + json_summary(value));
      config.model = value.get<std::string>();
    } else if (is_sampling_key(key)) {
      if (!value.is_number()) throw bad("must be a number, not " + json_summary(value));
      const std::string number = value.dump();  // the shortest text that reads back as the value (0.7)
      SamplingParams check;
      try {
        set_sampling_parameter(check, key, number);
      } catch (const std::invalid_argument& e) {
        throw bad(e.what());
      }
      config.sampling.emplace_back(key, number);
    } else if (key == "markdown" || key == "colour" || key == "color") {
      if (!value.is_boolean()) throw bad("must be true or false, not " + json_summary(value));
      (key == "markdown" ? config.markdown : config.colour) = value.get<bool>();
    } else if (key == "think") {
      const std::string mode = value.is_string() ? value.get<std::string>() : "";
      if (mode != "show" && mode != "fold" && mode != "hide") throw bad("must be \"show\", \"fold\" or \"hide\", not " + json_summary(value));
      config.think = mode;
    } else {
      throw UserConfigError(name + ": unknown key \"" + key + "\" (known: " + known_keys() + ")");
    }
  }
  return config;
}

UserConfig load_user_config(const std::filesystem::path& path) {
  if (path.empty()) return {};
  std::optional<std::string> text;
  try {
    text = read_regular_file_if_present(path, kUserConfigLimit);
  } catch (const FileReadError& e) {
    throw UserConfigError(e.what());
  }
  if (!text) return {};
  UserConfig config = parse_user_config(*text, path.string());
  config.file = path;
  return config;
}

}  // namespace dschat
