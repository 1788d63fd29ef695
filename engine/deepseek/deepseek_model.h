// The DeepSeek-V3 model as loaded from a model directory: config, mapped tensors, bound weights,
// the rotary tables and the thread pool. Internal to the engine; others use engine/model.h.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "engine/model.h"
#include "engine/deepseek/model_weights.h"
#include "engine/deepseek/rope.h"
#include "engine/io/tensor_source.h"
#include "engine/ops/thread_pool.h"

namespace dschat {

// Parameter counts by part, from the config (the main model; MTP layers excluded).
struct ParameterCounts {
  uint64_t embedding = 0;
  uint64_t attention = 0;
  uint64_t dense_mlp = 0;
  uint64_t routers = 0;
  uint64_t routed_experts = 0;
  uint64_t shared_experts = 0;
  uint64_t norms = 0;
  uint64_t lm_head = 0;  // 0 when tied to the embedding
  uint64_t total() const { return embedding + attention + dense_mlp + routers + routed_experts + shared_experts + norms + lm_head; }
  uint64_t active_per_token = 0;  // total minus the routed experts a token does not use
};

ParameterCounts count_parameters(const ModelConfig& config);

class DeepSeekModel final : public Model {
 public:
  static std::unique_ptr<DeepSeekModel> load_directory(const std::filesystem::path& dir, const LoadOptions& options);
  // A PyTorch .pt checkpoint of a from-scratch variant (pt_model_loader.cpp).
  static std::unique_ptr<DeepSeekModel> load_pt(const std::filesystem::path& file, const LoadOptions& options);
  // A GGUF file of llama.cpp's architecture deepseek2 (engine/io/gguf_source.h).
  static std::unique_ptr<DeepSeekModel> load_gguf(const std::filesystem::path& file, const LoadOptions& options);

  const ModelConfig& config() const override { return config_; }
  std::string name() const override { return name_; }
  uint64_t parameter_count() const override { return count_parameters(config_).total(); }
  uint64_t weight_bytes() const override;
  uint64_t decode_weight_bytes() const override;
  std::string describe() const override;
  std::string files_changed() const override;
  bool has_mtp_module() const override;
  std::vector<std::string> nonfinite_weight_warnings() const override;

  const ModelWeights& weights() const { return *weights_; }
  const Rope& rope() const { return *rope_; }
  ThreadPool& pool() const { return *pool_; }

 private:
  // How the weights are held, for describe(): mapped (paging from disk when larger than RAM) or converted.
  std::string weight_residence() const;
  DeepSeekModel() = default;
  // From a config and a source set: binds the weights, pages them in (or converts them for
  // --type), makes the rotary tables and the pool.
  void bind_weights(const LoadOptions& options);

  ModelConfig config_;
  std::string name_;
  std::filesystem::path path_;
  std::unique_ptr<TensorSource> source_;  // the mapped tensors: a safetensors directory, a .pt or a GGUF file
  std::string pt_variant_;                // which from-scratch project a .pt comes from ("" for safetensors)
  std::unique_ptr<ModelWeights> weights_;
  std::unique_ptr<Rope> rope_;
  std::unique_ptr<ThreadPool> pool_;
  uint64_t converted_bytes_ = 0;  // weights as held after conversion at load (0: mapped as stored)
};

}  // namespace dschat
