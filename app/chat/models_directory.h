// The models directory: $XDG_DATA_HOME/dschat/models/ (default ~/.local/share/dschat/models/).
// Each entry is a model by its name: a Hugging Face directory (config.json and safetensors, or a
// .pt checkpoint), a .gguf file or a .pt file, or a symbolic link to one. `--model NAME` finds
// NAME there when NAME is not a path that exists; `dschat list` lists them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dschat {

// $XDG_DATA_HOME/dschat/models ("" without a home directory).
std::filesystem::path default_models_dir();

struct ModelEntry {
  std::string name;             // how --model names it: the entry's name without .gguf / .pt
  std::string format;           // "safetensors", "gguf", "pt"
  uint64_t bytes = 0;           // the files' sizes (a directory: the files directly in it)
  std::filesystem::path path;   // the entry in the directory
  std::filesystem::file_time_type modified{};  // the newest file's modification time
};

// The models in `dir`, sorted by name; entries that are no model (no config.json, another file
// type, a dangling link) are skipped. [] when `dir` does not exist.
std::vector<ModelEntry> list_models(const std::filesystem::path& dir);

// What --model ARG means: ARG itself when something exists there or it has a '/' (a path; a
// missing one is reported by the load, as given); else the model of that name in `models_dir`
// (DIR/ARG, DIR/ARG.gguf, DIR/ARG.pt); else ARG (the load then says no such model). "~" is expanded.
std::filesystem::path resolve_model_argument(const std::string& arg, const std::filesystem::path& models_dir);

}  // namespace dschat
