// Which model a command uses: --model PATH|NAME, else $DSCHAT_MODEL_DIR, else the config file's
// "model", else the bundled one. A NAME (no '/', nothing at that path) is looked up in the models
// directory (app/chat/models_directory.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "app/chat/user_config.h"

namespace dschat {

std::filesystem::path model_option(const std::optional<std::string>& given, const UserConfig& config);

}  // namespace dschat
