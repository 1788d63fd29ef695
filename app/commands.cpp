#include "app/commands.h"

#include <cstdio>
#include <cstdlib>

namespace dschat {

std::string default_model_dir() {
  if (const char* env = std::getenv("DSCHAT_MODEL_DIR"); env && *env) return env;
  return DSCHAT_DEFAULT_MODEL_DIR;
}

int report_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "dschat %s: %s\n", command.c_str(), message.c_str());
  return 1;
}

}  // namespace dschat
