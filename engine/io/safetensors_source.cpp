#include "engine/io/safetensors_source.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/io/model_error.h"
#include "engine/io/model_file_read.h"
#include "common/json_limits.h"

namespace dschat {
namespace {

using nlohmann::json;

}  // namespace

void SafetensorsSource::add_file(std::unique_ptr<SafetensorsFile> file) {
  for (const TensorInfo& t : file->tensors()) {
    auto [it, inserted] = by_name_.emplace(t.name, &t);
    if (!inserted) {
      throw ModelError(file->path().string() + ": tensor '" + t.name + "' is also in " + it->second->file);
    }
    ordered_.push_back(&t);
  }
  files_.push_back(std::move(file));
}

std::unique_ptr<SafetensorsSource> SafetensorsSource::open_directory(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  auto collection = std::unique_ptr<SafetensorsSource>(new SafetensorsSource());
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    const std::string iname = index_path.string();
    const std::string text = read_model_file(index_path, kJsonConfigLimit);
    json index;
    try {
      index = parse_json_bounded(text);
    } catch (const json::exception& e) {
      throw ModelError(iname + ": not valid JSON: " + e.what());
    } catch (const JsonTooDeep& e) {
      throw ModelError(iname + ": " + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw ModelError(iname + ": missing the 'weight_map' object");
    }
    std::vector<std::string> shard_names;  // in first-mention order
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it.value().is_string()) {
        throw ModelError(iname + ": weight_map entry for tensor '" + it.key() + "' is not a file name");
      }
      std::string shard = it.value().get<std::string>();
      fs::path sp(shard);
      if (shard.empty() || sp.is_absolute() || sp.has_parent_path() || shard == "." || shard == "..") {
        throw ModelError(iname + ": weight_map entry for tensor '" + it.key() + "' names '" + shard +
                         "', which is not a file in the model directory");
      }
      if (std::find(shard_names.begin(), shard_names.end(), shard) == shard_names.end()) shard_names.push_back(shard);
    }
    std::sort(shard_names.begin(), shard_names.end());
    for (const std::string& shard : shard_names) {
      fs::path sp = dir / shard;
      std::error_code status_error;  // e.g. a name longer than NAME_MAX: an error, not an exception
      if (!fs::exists(sp, status_error)) {
        throw ModelError(iname + ": shard '" + shard + "' listed in weight_map " +
                         (status_error ? "cannot be opened: " + status_error.message()
                                       : "does not exist (" + sp.string() + ")"));
      }
      collection->add_file(std::make_unique<SafetensorsFile>(sp));
    }
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      const std::string shard = it.value().get<std::string>();
      const TensorInfo* t = collection->find(it.key());
      if (!t || fs::path(t->file).filename() != shard) {
        throw ModelError(iname + ": tensor '" + it.key() + "' is listed in shard '" + shard + "', which does not hold it" +
                         (t ? " (it is in " + t->file + ")" : ""));
      }
    }
    for (const TensorInfo* t : collection->ordered_) {
      if (!index["weight_map"].contains(t->name)) {
        collection->warnings_.push_back(t->file + ": tensor '" + t->name + "' is not listed in " + iname);
      }
    }
    return collection;
  }
  for (const char* single : {"model.safetensors", "weights.safetensors"}) {
    if (fs::exists(dir / single)) {
      collection->add_file(std::make_unique<SafetensorsFile>(dir / single));
      return collection;
    }
  }
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".safetensors") found.push_back(entry.path());
  }
  if (ec) throw ModelError(dir.string() + ": cannot list the directory: " + ec.message());
  if (found.size() == 1) {
    collection->add_file(std::make_unique<SafetensorsFile>(found[0]));
    return collection;
  }
  if (found.empty()) {
    throw ModelError(dir.string() + ": no model.safetensors, model.safetensors.index.json or weights.safetensors");
  }
  throw ModelError(dir.string() + ": several .safetensors files but no model.safetensors.index.json saying which is which");
}

const TensorInfo* SafetensorsSource::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::string SafetensorsSource::label() const {
  return files_.size() == 1 ? files_[0]->path().string() : "the checkpoint (" + std::to_string(files_.size()) + " shards)";
}

std::vector<const MappedFile*> SafetensorsSource::mapped_files() const {
  std::vector<const MappedFile*> mappings;
  for (const auto& file : files_) mappings.push_back(&file->mapping());
  return mappings;
}

}  // namespace dschat
