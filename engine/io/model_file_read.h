// Reading a model's small files whole (config.json, the safetensors index, generation_config.json)
// through common/regular_file.h, failing with ModelError: never blocks on a FIFO, refuses what is
// not a regular file, and a file above its limit (common/file_limits.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/regular_file.h"
#include "engine/io/model_error.h"

namespace dschat {

inline std::string read_model_file(const std::filesystem::path& path, const FileLimit& limit) {
  try {
    return read_regular_file(path, limit);
  } catch (const FileReadError& e) {
    throw ModelError(e.what());
  }
}

// nullopt when nothing is at `path`.
inline std::optional<std::string> read_model_file_if_present(const std::filesystem::path& path,
                                                            const FileLimit& limit) {
  try {
    return read_regular_file_if_present(path, limit);
  } catch (const FileReadError& e) {
    throw ModelError(e.what());
  }
}

}  // namespace dschat
