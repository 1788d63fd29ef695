#include "app/cli/weight_type_option.h"

#include "app/cli/command_line.h"

namespace dschat {

TypeChoice parse_weight_type(const std::string& option, const std::string& text) {
  if (text == "f32") return {WeightType::F32, text};
  if (text == "bf16") return {WeightType::BF16, text};
  if (text == "q8_0") return {WeightType::Q8_0, text};
  if (text == "q4_0") return {WeightType::Q4_0, text};
  if (text == "native") return {WeightType::Native, text};
  throw CommandLineError(option + ": unknown weight type '" + text + "' (expected f32, bf16, q8_0, q4_0 or native)");
}

CacheType parse_cache_type_option(const std::string& text) {
  if (const auto type = parse_cache_type(text)) return *type;
  throw CommandLineError("--cache-type: unknown cache type '" + text + "' (expected f32, bf16, fp8 or q8_0)");
}

}  // namespace dschat
