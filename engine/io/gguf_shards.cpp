#include "engine/io/gguf_shards.h"

#include <cstdio>
#include <system_error>

#include "engine/io/model_error.h"

namespace dschat {
namespace {

constexpr const char* kSplitNo = "split.no";
constexpr const char* kSplitCount = "split.count";
constexpr const char* kSplitTensors = "split.tensors.count";
constexpr int64_t kMaxShards = 65535;  // split.count is a u16

std::string split_suffix(int no, int count) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "-%05d-of-%05d.gguf", no + 1, count);
  return buf;
}

// An integer key of `file`, or `fallback` when absent; a key of another type is an error.
int64_t integer_key(const GgufFile& file, const char* key, int64_t fallback) {
  const GgufValue* v = file.find(key);
  if (!v) return fallback;
  if (!v->is_integer() || v->type == GgufType::Bool) {
    throw ModelError(file.path().string() + ": key '" + key + "' is " + v->summary() + ", not an integer");
  }
  return v->int_value;
}

// PREFIX-00001-of-0000N.gguf ... for `no` in [0, count), beside `first` (llama_split_path).
std::filesystem::path shard_path(const std::filesystem::path& first, int no, int count) {
  const std::string name = first.filename().string(), first_suffix = split_suffix(0, count);
  if (name.size() <= first_suffix.size() ||
      name.compare(name.size() - first_suffix.size(), first_suffix.size(), first_suffix) != 0) {
    throw ModelError(first.string() + ": a model split in " + std::to_string(count) +
                     " shards opens from its first, named PREFIX" + first_suffix + " (as llama-gguf-split writes it)");
  }
  return first.parent_path() / (name.substr(0, name.size() - first_suffix.size()) + split_suffix(no, count));
}

}  // namespace

GgufShards::GgufShards(const std::filesystem::path& path) {
  files_.push_back(std::make_unique<GgufFile>(path));
  const GgufFile& head = *files_.front();
  const std::string fname = path.string();
  const int64_t count = integer_key(head, kSplitCount, 1);
  if (count < 0 || count > kMaxShards) {  // 0, as no key, is one file (llama.cpp's loader too)
    throw ModelError(fname + ": key '" + std::string(kSplitCount) + "' is " + std::to_string(count) +
                     " (at most 65535 shards)");
  }
  if (count > 1) {
    const int64_t no = integer_key(head, kSplitNo, -1);
    if (no != 0) {
      // Name the first shard when this one is named as llama-gguf-split names them.
      std::string first = "PREFIX" + split_suffix(0, static_cast<int>(count));
      const std::string name = path.filename().string(),
                        its_suffix = split_suffix(static_cast<int>(no), static_cast<int>(count));
      if (no > 0 && no < count && name.size() > its_suffix.size() &&
          name.compare(name.size() - its_suffix.size(), its_suffix.size(), its_suffix) == 0) {
        first = (path.parent_path() /
                 (name.substr(0, name.size() - its_suffix.size()) + split_suffix(0, static_cast<int>(count))))
                    .string();
      }
      throw ModelError(fname + ": this is shard " + (no < 0 ? std::string("?") : std::to_string(no + 1)) + " of " +
                       std::to_string(count) + " (key '" + kSplitNo + "'); open the model from its first shard, " +
                       first);
    }
    for (int i = 1; i < count; ++i) {
      const std::filesystem::path shard = shard_path(path, i, static_cast<int>(count));
      std::error_code ec;
      if (!std::filesystem::exists(shard, ec)) {
        throw ModelError(fname + ": shard " + std::to_string(i + 1) + " of " + std::to_string(count) +
                         " is missing: " + shard.string());
      }
      files_.push_back(std::make_unique<GgufFile>(shard));
      const GgufFile& f = *files_.back();
      const int64_t its_no = integer_key(f, kSplitNo, -1), its_count = integer_key(f, kSplitCount, -1);
      if (its_no != i || its_count != count) {
        throw ModelError(shard.string() + ": not shard " + std::to_string(i + 1) + " of " + std::to_string(count) +
                         " of " + fname + " (its " + kSplitNo + " is " + std::to_string(its_no) + ", " + kSplitCount +
                         " " + std::to_string(its_count) + ")");
      }
    }
  }
  for (const auto& f : files_) {
    for (const GgufTensor& t : f->tensors()) {
      if (!tensor_index_.emplace(t.name, tensors_.size()).second) {
        throw ModelError(f->path().string() + ": tensor '" + t.name + "' is also in " +
                         tensors_[tensor_index_.at(t.name)].file->path().string());
      }
      tensors_.push_back({f.get(), &t});
    }
  }
  if (count > 1) {
    const int64_t expected = integer_key(head, kSplitTensors, -1);
    if (expected != static_cast<int64_t>(tensors_.size())) {
      throw ModelError(fname + ": key '" + std::string(kSplitTensors) + "' says " + std::to_string(expected) +
                       " tensors, the " + std::to_string(count) + " shards hold " + std::to_string(tensors_.size()));
    }
  }
}

const GgufShards::Tensor* GgufShards::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace dschat
