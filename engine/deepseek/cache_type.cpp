#include "engine/deepseek/cache_type.h"

namespace dschat {

const char* cache_type_name(CacheType type) {
  switch (type) {
    case CacheType::F32:
      return "f32";
    case CacheType::BF16:
      return "bf16";
    case CacheType::FP8:
      return "fp8";
    case CacheType::Q8_0:
      return "q8_0";
  }
  return "?";
}

std::optional<CacheType> parse_cache_type(std::string_view name) {
  for (CacheType type : {CacheType::F32, CacheType::BF16, CacheType::FP8, CacheType::Q8_0}) {
    if (name == cache_type_name(type)) return type;
  }
  return std::nullopt;
}

}  // namespace dschat
