#include "app/chat/models_directory.h"

#include <algorithm>

#include "app/chat/conversation_list.h"
#include "app/chat/xdg_directories.h"

namespace dschat {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The format of the model at `path` (links followed), "" when it is none.
std::string model_format(const fs::path& path) {
  std::error_code ec;
  const std::string file = path.filename().string();
  if (fs::is_regular_file(path, ec)) {
    if (ends_with(file, ".gguf")) return "gguf";
    if (ends_with(file, ".pt")) return "pt";
    return "";
  }
  if (!fs::is_directory(path, ec) || !fs::is_regular_file(path / "config.json", ec)) return "";
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    if (ends_with(name, ".safetensors") || name == "model.safetensors.index.json") return "safetensors";
  }
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec))
    if (ends_with(e.path().filename().string(), ".pt")) return "pt";
  return "";
}

}  // namespace

fs::path default_models_dir() {
  const fs::path base = xdg_base_directory("XDG_DATA_HOME", ".local/share");
  return base.empty() ? base : base / "dschat" / "models";
}

std::vector<ModelEntry> list_models(const fs::path& dir) {
  std::vector<ModelEntry> models;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return models;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path path = it->path();
    ModelEntry entry;
    entry.format = model_format(path);
    if (entry.format.empty()) continue;
    entry.path = path;
    entry.name = path.filename().string();
    if (fs::is_regular_file(path, ec)) {
      entry.name = path.stem().string();
      entry.bytes = fs::file_size(path, ec);
      entry.modified = fs::last_write_time(path, ec);
    } else {
      entry.modified = fs::file_time_type::min();  // (the clock's epoch, {}, is in the year 2174)
      for (const fs::directory_entry& file : fs::directory_iterator(path, ec)) {
        std::error_code file_ec;
        if (!file.is_regular_file(file_ec)) continue;
        const uintmax_t size = file.file_size(file_ec);
        if (!file_ec) entry.bytes += size;
        entry.modified = std::max(entry.modified, file.last_write_time(file_ec));
      }
    }
    models.push_back(std::move(entry));
  }
  std::sort(models.begin(), models.end(), [](const ModelEntry& a, const ModelEntry& b) { return a.name < b.name; });
  return models;
}

fs::path resolve_model_argument(const std::string& arg, const fs::path& models_dir) {
  const fs::path given = expand_home(arg);
  std::error_code ec;
  if (arg.empty() || fs::exists(given, ec) || arg.find('/') != std::string::npos || arg == "." || arg == ".." ||
      models_dir.empty())
    return given;
  for (const std::string& candidate : {arg, arg + ".gguf", arg + ".pt"}) {
    const fs::path path = models_dir / candidate;
    if (!model_format(path).empty()) return path;
  }
  return given;
}

}  // namespace dschat
