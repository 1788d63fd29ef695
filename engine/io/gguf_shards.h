// A GGUF model in one file or split in shards as llama.cpp's `llama-gguf-split` writes them (the
// form the large models are published in: DeepSeek-V3-Q4_K_M-00001-of-00009.gguf ...):
//   PREFIX-00001-of-0000N.gguf ... PREFIX-0000N-of-0000N.gguf, each a GGUF file of its own whose
//   metadata has split.no (u16, 0 for the first), split.count (u16, N) and, in the first,
//   split.tensors.count (i32, the tensors of all shards); the first shard carries every other
//   key (architecture, tokenizer), each shard the infos and data of its own tensors.
// Opened from the first shard, as llama.cpp's loader requires (src/llama-model-loader.cpp,
// llama_split_path / llama_split_prefix in src/llama.cpp): the others are found by name and
// checked (number, count, no tensor in two shards, the total). A file without split.count is a
// model of one shard. Every shard is memory-mapped; nothing is copied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/gguf_file.h"

namespace dschat {

class GgufShards {
 public:
  // Opens `path` and, when it is the first of several shards, the others beside it. Throws
  // ModelError naming the file and what is wrong (a later shard given, one missing or not of
  // this model, a tensor in two shards, a count that does not add up).
  explicit GgufShards(const std::filesystem::path& path);

  // The first shard: the model's metadata.
  const GgufFile& first() const { return *files_.front(); }
  const std::vector<std::unique_ptr<GgufFile>>& files() const { return files_; }

  struct Tensor {
    const GgufFile* file;
    const GgufTensor* tensor;
  };
  // Every tensor, shard by shard in file order, and one by its GGUF name (null if absent).
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const Tensor* find_tensor(const std::string& name) const;

 private:
  std::vector<std::unique_ptr<GgufFile>> files_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace dschat
