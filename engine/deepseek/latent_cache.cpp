#include "engine/deepseek/latent_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/io/model_error.h"
#include "engine/quant/float8.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"

namespace dschat {
namespace {

int64_t fp8_tiles(int64_t n) { return (n + kFp8CacheTile - 1) / kFp8CacheTile; }

uint64_t row_bytes(CacheType type, int64_t n, bool rotary) {
  switch (type) {
    case CacheType::F32:
      return uint64_t(n) * 4;
    case CacheType::BF16:
      return uint64_t(n) * 2;
    case CacheType::FP8:
      return rotary ? uint64_t(n) * 2 : uint64_t(n) + uint64_t(fp8_tiles(n)) * 4;
    case CacheType::Q8_0:
      return rotary ? uint64_t(n) * 2 : uint64_t(n / kQuantBlock) * sizeof(BlockQ8_0);
  }
  return 0;
}

void encode_bf16(const float* x, int64_t n, std::byte* out) {
  auto* h = reinterpret_cast<uint16_t*>(out);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(x[i]);
}

void decode_bf16(const std::byte* in, int64_t n, float* out) {
  const auto* h = reinterpret_cast<const uint16_t*>(in);
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(h[i]);
}

// FlashMLA's FP8 latent: n E4M3 bytes, then one F32 scale per tile of 128 (amax / 448; the stored
// byte is e4m3(x / scale), so the tile's largest magnitude maps to 448). An all-zero tile has scale 0.
void encode_fp8(const float* x, int64_t n, std::byte* out) {
  auto* q = reinterpret_cast<uint8_t*>(out);
  for (int64_t t = 0; t < fp8_tiles(n); ++t) {
    const int64_t begin = t * kFp8CacheTile, end = std::min<int64_t>(n, begin + kFp8CacheTile);
    float amax = 0;
    for (int64_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = amax / kE4M3Max;
    for (int64_t i = begin; i < end; ++i) q[i] = scale > 0 ? f32_to_e4m3(x[i] / scale) : 0;
    std::memcpy(out + n + t * 4, &scale, 4);
  }
}

void decode_fp8(const std::byte* in, int64_t n, float* out) {
  const auto* q = reinterpret_cast<const uint8_t*>(in);
  const float* table = e4m3_table();
  for (int64_t t = 0; t < fp8_tiles(n); ++t) {
    const int64_t begin = t * kFp8CacheTile, end = std::min<int64_t>(n, begin + kFp8CacheTile);
    float scale;
    std::memcpy(&scale, in + n + t * 4, 4);
    for (int64_t i = begin; i < end; ++i) out[i] = table[q[i]] * scale;
  }
}

void encode(CacheType type, bool rotary, const float* x, int64_t n, std::byte* out) {
  switch (type) {
    case CacheType::F32:
      std::memcpy(out, x, n * sizeof(float));
      return;
    case CacheType::BF16:
      encode_bf16(x, n, out);
      return;
    case CacheType::FP8:
      rotary ? encode_bf16(x, n, out) : encode_fp8(x, n, out);
      return;
    case CacheType::Q8_0:
      rotary ? encode_bf16(x, n, out) : quantize_row_q8_0(x, reinterpret_cast<BlockQ8_0*>(out), n);
      return;
  }
}

void decode(CacheType type, bool rotary, const std::byte* in, int64_t n, float* out) {
  switch (type) {
    case CacheType::F32:
      std::memcpy(out, in, n * sizeof(float));
      return;
    case CacheType::BF16:
      decode_bf16(in, n, out);
      return;
    case CacheType::FP8:
      rotary ? decode_bf16(in, n, out) : decode_fp8(in, n, out);
      return;
    case CacheType::Q8_0:
      rotary ? decode_bf16(in, n, out) : dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(in), out, n);
      return;
  }
}

}  // namespace

uint64_t LatentCache::bytes_per_position(CacheType type, int kv_lora_rank, int rope_dim) {
  return row_bytes(type, kv_lora_rank, false) + row_bytes(type, rope_dim, true);
}

LatentCache::LatentCache(int layers, int capacity, int kv_lora_rank, int rope_dim, CacheType type)
    : capacity_(capacity), kv_lora_rank_(kv_lora_rank), rope_dim_(rope_dim), type_(type) {
  if (type == CacheType::Q8_0 && kv_lora_rank % kQuantBlock != 0) {
    throw ModelError("--cache-type q8_0 needs kv_lora_rank to be a multiple of 32; this model's is " +
                     std::to_string(kv_lora_rank) + " (use bf16 or fp8)");
  }
  latent_row_bytes_ = row_bytes(type, kv_lora_rank, false);
  rope_row_bytes_ = row_bytes(type, rope_dim, true);
  const uint64_t positions = static_cast<uint64_t>(layers) * static_cast<uint64_t>(capacity);
  const uint64_t latent_bytes = positions * latent_row_bytes_;
  bytes_ = latent_bytes + positions * rope_row_bytes_;
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
  latent_plane_ = static_cast<std::byte*>(memory_);
  rope_plane_ = latent_plane_ + latent_bytes;
}

LatentCache::~LatentCache() {
  if (memory_) ::munmap(memory_, bytes_);
}

void LatentCache::store(int layer, int64_t position, const float* c_kv, const float* k_pe) {
  encode(type_, false, c_kv, kv_lora_rank_, latent_row(layer, position));
  encode(type_, true, k_pe, rope_dim_, rope_row(layer, position));
}

const float* LatentCache::latents(int layer, int64_t first, int64_t count, float* scratch) const {
  if (type_ == CacheType::F32) return reinterpret_cast<const float*>(latent_row(layer, first));
  for (int64_t t = 0; t < count; ++t) {
    decode(type_, false, latent_row(layer, first + t), kv_lora_rank_, scratch + t * kv_lora_rank_);
  }
  return scratch;
}

const float* LatentCache::rotary_keys(int layer, int64_t first, int64_t count, float* scratch) const {
  if (type_ == CacheType::F32) return reinterpret_cast<const float*>(rope_row(layer, first));
  for (int64_t t = 0; t < count; ++t)
    decode(type_, true, rope_row(layer, first + t), rope_dim_, scratch + t * rope_dim_);
  return scratch;
}

float* LatentCache::c_kv(int layer, int64_t position) {
  assert(type_ == CacheType::F32);
  return reinterpret_cast<float*>(latent_row(layer, position));
}

float* LatentCache::k_pe(int layer, int64_t position) {
  assert(type_ == CacheType::F32);
  return reinterpret_cast<float*>(rope_row(layer, position));
}

}  // namespace dschat
