// Fuzz target: the user's config.json text through parse_user_config. It throws nothing but
// UserConfigError; what it accepts applies cleanly with /set's own checks.
#include "app/chat/user_config.h"
#include "engine/sampler.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const dschat::UserConfig config =
        dschat::parse_user_config(std::string(dschat::fuzz::as_text(data, size)), "config.json");
    dschat::SamplingParams params;
    for (const auto& [name, value] : config.sampling) {
      try {
        dschat::set_sampling_parameter(params, name, value);
      } catch (const std::invalid_argument&) {
        dschat::fuzz::property_failed("accepted a sampling value that /set refuses");
      }
    }
    if (config.think && *config.think != "show" && *config.think != "fold" && *config.think != "hide")
      dschat::fuzz::property_failed("accepted an unknown think mode");
    if (config.model && config.model->empty()) dschat::fuzz::property_failed("accepted an empty model");
  } catch (const dschat::UserConfigError&) {
  }
  return 0;
}
