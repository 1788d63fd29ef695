// The latent KV cache of MLA: per layer and position only the normalised c_kv (kv_lora_rank)
// and the roped shared k_pe (qk_rope_head_dim). Keys and values are rebuilt from it.
// Its memory is an anonymous mapping reserved for the whole capacity and committed by the pages
// written: a context of the model's full length costs what its tokens use, not what it could hold
// (a 1e6-token context of a small model no longer zero-fills gigabytes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dschat {

class LatentCache {
 public:
  // Throws ModelError naming the size when the address space cannot be reserved.
  LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim);
  ~LatentCache();
  LatentCache(const LatentCache&) = delete;
  LatentCache& operator=(const LatentCache&) = delete;

  int capacity() const { return capacity_; }
  int kv_lora_rank() const { return kv_lora_rank_; }
  int rope_dim() const { return rope_dim_; }

  float* c_kv(int layer, int64_t position) { return c_kv_ + index(layer, position) * kv_lora_rank_; }
  float* k_pe(int layer, int64_t position) { return k_pe_ + index(layer, position) * rope_dim_; }
  const float* c_kv(int layer, int64_t position) const { return c_kv_ + index(layer, position) * kv_lora_rank_; }
  const float* k_pe(int layer, int64_t position) const { return k_pe_ + index(layer, position) * rope_dim_; }
  uint64_t bytes() const { return bytes_; }  // reserved; resident only as far as written

 private:
  size_t index(int layer, int64_t position) const { return static_cast<size_t>(layer) * capacity_ + position; }

  int capacity_;
  int kv_lora_rank_;
  int rope_dim_;
  uint64_t bytes_ = 0;
  void* memory_ = nullptr;   // one mapping: c_kv then k_pe
  float* c_kv_ = nullptr;    // [layers, capacity, kv_lora_rank]
  float* k_pe_ = nullptr;    // [layers, capacity, rope_dim]
};

}  // namespace dschat
