#include "engine/deepseek/latent_cache.h"

namespace dschat {

LatentCache::LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim)
    : capacity_(capacity),
      kv_lora_rank_(kv_lora_rank),
      rope_dim_(rope_dim),
      c_kv_(static_cast<size_t>(layers) * capacity * kv_lora_rank),
      k_pe_(static_cast<size_t>(layers) * capacity * rope_dim) {}

}  // namespace dschat
