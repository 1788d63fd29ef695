#include "app/cli/sampling_options.h"

#include <stdexcept>

#include "engine/sampler.h"

namespace dschat {

std::set<std::string> sampling_option_names() {
  std::set<std::string> names;
  for (const SamplingOption& o : kSamplingOptions) names.insert(o.option);
  return names;
}

SamplingOverrides sampling_overrides(const CommandLine& cl) {
  SamplingOverrides overrides;
  for (const SamplingOption& o : kSamplingOptions) {
    const std::optional<std::string> value = cl.get(o.option);
    if (!value) continue;
    SamplingParams check;
    try {
      set_sampling_parameter(check, o.parameter, *value);
    } catch (const std::invalid_argument& e) {
      throw CommandLineError(std::string(o.option) + ": " + e.what());
    }
    overrides.emplace_back(o.parameter, *value);
  }
  return overrides;
}

}  // namespace dschat
