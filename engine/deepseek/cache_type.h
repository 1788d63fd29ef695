// Element types of the latent KV cache (--cache-type). Per layer and position the cache holds the
// normalised latent c_kv (kv_lora_rank values, 512 in V3) and the roped key k_pe (64):
//   f32:  both in F32                                           (2304 bytes per token-layer in V3)
//   bf16: both in BF16                                          (1152)
//   fp8:  DeepSeek FlashMLA's FP8 cache: the latent in E4M3 with one F32 scale per 128 values
//         (scale = amax/448, value = e4m3 · scale), the rotary key in BF16     (512 + 16 + 128 = 656)
//   q8_0: the latent in Q8_0 blocks of 32 as llama.cpp's `-ctk q8_0` (fp16 scale amax/127), the
//         rotary key in BF16                                    (16 · 34 + 128 = 672)
//         The rotary key stays BF16 (llama.cpp quantizes it with the latent, 612 bytes) because it
//         is 11% of the row and carries the position (FlashMLA keeps it in BF16 too), and because
//         rotary widths need not be multiples of 32 (16 in the bundled model).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dschat {

enum class CacheType { F32, BF16, FP8, Q8_0 };

const char* cache_type_name(CacheType type);  // "f32", "bf16", "fp8", "q8_0"
std::optional<CacheType> parse_cache_type(std::string_view name);

}  // namespace dschat
