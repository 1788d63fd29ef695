#include "engine/deepseek/latent_cache.h"

#include <sys/mman.h>

#include <cstdio>
#include <string>

#include "engine/io/model_error.h"

namespace dschat {

LatentCache::LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim)
    : capacity_(capacity), kv_lora_rank_(kv_lora_rank), rope_dim_(rope_dim) {
  const uint64_t positions = static_cast<uint64_t>(layers) * static_cast<uint64_t>(capacity);
  const uint64_t c_kv_floats = positions * static_cast<uint64_t>(kv_lora_rank);
  bytes_ = (c_kv_floats + positions * static_cast<uint64_t>(rope_dim)) * sizeof(float);
  if (bytes_ == 0) return;
  // Anonymous pages read as zero and take memory only once written; MAP_NORESERVE so that a long
  // context is not refused up front by the kernel's commit accounting.
  memory_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory_ == MAP_FAILED) {
    memory_ = nullptr;
    char size[32];
    std::snprintf(size, sizeof size, "%.1f GiB", static_cast<double>(bytes_) / (1ull << 30));
    throw ModelError("cannot reserve " + std::string(size) + " for the latent cache of " + std::to_string(capacity) +
                     " tokens x " + std::to_string(layers) + " layers: choose a smaller context (--ctx)");
  }
  c_kv_ = static_cast<float*>(memory_);
  k_pe_ = c_kv_ + c_kv_floats;
}

LatentCache::~LatentCache() {
  if (memory_) ::munmap(memory_, bytes_);
}

}  // namespace dschat
