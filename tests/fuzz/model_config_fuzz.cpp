// Fuzz target: config.json text through parse_model_config (which validates). An accepted
// config must pass validation again and have positive sizes the engine divides by.
#include "engine/model.h"
#include "engine/deepseek/model_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dschat::ModelConfig config = dschat::parse_model_config(std::string(dschat::fuzz::as_text(data, size)), "config.json");
    dschat::validate_model_config(config, "config.json");
    if (config.hidden_size <= 0 || config.num_attention_heads <= 0 || config.vocab_size <= 0) {
      dschat::fuzz::property_failed("accepted a config with a non-positive size");
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
