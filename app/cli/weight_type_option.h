// The --type / --type-output option of bench and logits: the weight type the model runs in.
#pragma once

#include <string>

#include "engine/model.h"

namespace dschat {

struct TypeChoice {
  WeightType type;
  std::string name;
};

// "f32", "bf16", "q8_0", "q4_0" or "native"; CommandLineError naming `option` otherwise.
TypeChoice parse_weight_type(const std::string& option, const std::string& text);

// --cache-type: "f32", "bf16", "fp8" or "q8_0"; CommandLineError otherwise.
CacheType parse_cache_type_option(const std::string& text);

}  // namespace dschat
