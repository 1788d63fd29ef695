// The latent KV cache of MLA: per layer and position only the normalised c_kv (kv_lora_rank)
// and the roped shared k_pe (qk_rope_head_dim). Keys and values are rebuilt from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dschat {

class LatentCache {
 public:
  LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim);

  int capacity() const { return capacity_; }
  int kv_lora_rank() const { return kv_lora_rank_; }
  int rope_dim() const { return rope_dim_; }

  float* c_kv(int layer, int64_t position) { return c_kv_.data() + index(layer, position) * kv_lora_rank_; }
  float* k_pe(int layer, int64_t position) { return k_pe_.data() + index(layer, position) * rope_dim_; }
  const float* c_kv(int layer, int64_t position) const { return c_kv_.data() + index(layer, position) * kv_lora_rank_; }
  const float* k_pe(int layer, int64_t position) const { return k_pe_.data() + index(layer, position) * rope_dim_; }
  uint64_t bytes() const { return (c_kv_.size() + k_pe_.size()) * sizeof(float); }

 private:
  size_t index(int layer, int64_t position) const { return static_cast<size_t>(layer) * capacity_ + position; }

  int capacity_;
  int kv_lora_rank_;
  int rope_dim_;
  std::vector<float> c_kv_;  // [layers, capacity, kv_lora_rank]
  std::vector<float> k_pe_;  // [layers, capacity, rope_dim]
};

}  // namespace dschat
