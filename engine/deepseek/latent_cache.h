// The latent KV cache of MLA: per layer and position only the normalised c_kv (kv_lora_rank)
// and the roped shared k_pe (qk_rope_head_dim). Keys and values are rebuilt from it.
// Stored in one of the CacheType element types (cache_type.h): two planes per cache, the latents
// [layers, capacity, latent_row_bytes] and the rotary keys [layers, capacity, rope_row_bytes], so
// that an F32 cache's rows of one layer are a plain float matrix the kernels read in place.
// Its memory is an anonymous mapping reserved for the whole capacity and committed by the pages
// written: a context of the model's full length costs what its tokens use, not what it could hold
// (a 1e6-token context of a small model no longer zero-fills gigabytes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/deepseek/cache_type.h"

namespace dschat {

// Values per FP8 scale in the latent (FlashMLA's tile).
inline constexpr int64_t kFp8CacheTile = 128;

class LatentCache {
 public:
  // Throws ModelError naming the size when the address space cannot be reserved, or when the
  // latent width does not fit the type (q8_0 needs a multiple of 32).
  LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim, CacheType type = CacheType::F32);
  ~LatentCache();
  LatentCache(const LatentCache&) = delete;
  LatentCache& operator=(const LatentCache&) = delete;

  int capacity() const { return capacity_; }
  int kv_lora_rank() const { return kv_lora_rank_; }
  int rope_dim() const { return rope_dim_; }
  CacheType type() const { return type_; }
  uint64_t bytes() const { return bytes_; }  // reserved; resident only as far as written
  // Bytes one position of one layer takes (latent and rotary key).
  uint64_t bytes_per_position() const { return latent_row_bytes_ + rope_row_bytes_; }
  static uint64_t bytes_per_position(CacheType type, int kv_lora_rank, int rope_dim);

  // Encodes one position's latent (kv_lora_rank floats) and rotary key (rope_dim floats).
  void store(int layer, int64_t position, const float* c_kv, const float* k_pe);
  // The latents of positions first..first+count-1 of `layer` as floats [count, kv_lora_rank]:
  // the cache's own memory for F32, else decoded into `scratch` (count · kv_lora_rank floats).
  const float* latents(int layer, int64_t first, int64_t count, float* scratch) const;
  // The same for the rotary keys [count, rope_dim].
  const float* rotary_keys(int layer, int64_t first, int64_t count, float* scratch) const;

  // F32 caches only (asserted): the stored floats, for tests and callers that write in place.
  float* c_kv(int layer, int64_t position);
  float* k_pe(int layer, int64_t position);

 private:
  size_t index(int layer, int64_t position) const { return static_cast<size_t>(layer) * capacity_ + position; }
  std::byte* latent_row(int layer, int64_t position) const {
    return latent_plane_ + index(layer, position) * latent_row_bytes_;
  }
  std::byte* rope_row(int layer, int64_t position) const {
    return rope_plane_ + index(layer, position) * rope_row_bytes_;
  }

  int capacity_;
  int kv_lora_rank_;
  int rope_dim_;
  CacheType type_;
  uint64_t latent_row_bytes_ = 0, rope_row_bytes_ = 0;
  uint64_t bytes_ = 0;
  void* memory_ = nullptr;  // one mapping: the latent plane then the rotary plane
  std::byte* latent_plane_ = nullptr;
  std::byte* rope_plane_ = nullptr;
};

}  // namespace dschat
