#include "app/cli/model_option.h"

#include <cstdlib>

#include "app/backend/loaded_model.h"
#include "app/chat/models_directory.h"

namespace dschat {

std::filesystem::path model_option(const std::optional<std::string>& given, const UserConfig& config) {
  std::string arg;
  if (given) arg = *given;
  else if (const char* env = std::getenv("DSCHAT_MODEL_DIR"); env && *env) arg = env;
  else if (config.model) arg = *config.model;
  else return default_model_dir();
  return resolve_model_argument(arg, default_models_dir());
}

}  // namespace dschat
