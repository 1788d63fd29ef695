// The tensors of a GGUF model (llama.cpp architecture `deepseek2`; one file, or the shards of
// gguf_shards.h) as a TensorSource under the
// Hugging Face names and shapes the weight binder reads, used in place (no copies):
//   token_embd -> model.embed_tokens.weight, output_norm -> model.norm.weight, output -> lm_head.weight,
//   blk.N.attn_q_a -> model.layers.N.self_attn.q_a_proj.weight, ... (gguf_hf_name below),
//   blk.N.ffn_{gate,up,down}_exps [E, out, in] -> mlp.switch_mlp.*_proj.weight (MLX's stacked layout),
//   blk.N.attn_k_b [heads, kv_lora, nope] -> self_attn.k_b_proj.weight (W_UKᵀ per head: the
//   converter's split of kv_b_proj, kept as it is; the binder takes it beside v_b_proj),
//   blk.N.attn_v_b [heads, v, kv_lora] -> self_attn.v_b_proj.weight,
//   blk.N.nextn.{eh_proj,enorm,hnorm,shared_head_norm,shared_head_head,embed_tokens} (MTP blocks)
//   -> model.layers.N.{eh_proj,enorm,hnorm,shared_head.norm,shared_head.head,embed_tokens}.weight.
// Shapes are GGUF's ne reversed (row-major, as safetensors). A tensor of a ggml type dschat has no
// DType for is an error naming the tensor and the type, here, at load.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/gguf_shards.h"
#include "engine/io/tensor_source.h"

namespace dschat {

// The Hugging Face name of a deepseek2 GGUF tensor name; the name itself when it is not one.
std::string gguf_hf_name(const std::string& gguf_name);

class GgufSource final : public TensorSource {
 public:
  explicit GgufSource(const std::filesystem::path& path);

  const GgufShards& gguf() const { return shards_; }
  const TensorInfo* find(const std::string& name) const override;
  const std::vector<const TensorInfo*>& tensors() const override { return ordered_; }
  std::string label() const override { return shards_.first().path().string(); }
  const std::vector<std::string>& warnings() const override { return warnings_; }
  std::vector<const MappedFile*> mapped_files() const override;

 private:
  GgufShards shards_;
  std::vector<TensorInfo> infos_;
  std::vector<const TensorInfo*> ordered_;
  std::unordered_map<std::string, const TensorInfo*> by_name_;
  std::vector<std::string> warnings_;
};

}  // namespace dschat
