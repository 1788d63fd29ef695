// The sampling options of the command line, shared by `dschat run` and the chat: each is the
// ollama parameter that `/set parameter` takes (engine/sampler.h set_sampling_parameter), so the
// three accept the same values with the same messages.
#pragma once

#include <set>
#include <string>

#include "app/chat/chat_session.h"
#include "app/cli/command_line.h"

namespace dschat {

struct SamplingOption {
  const char* option;     // "--temp"
  const char* parameter;  // "temperature"
};

inline constexpr SamplingOption kSamplingOptions[] = {
    {"--temp", "temperature"}, {"--top-k", "top_k"},  {"--top-p", "top_p"},
    {"--min-p", "min_p"},      {"--repeat-penalty", "repeat_penalty"}, {"--repeat-last-n", "repeat_last_n"},
    {"--seed", "seed"}};

// The option names, to add to a CommandLine's value options.
std::set<std::string> sampling_option_names();

// The sampling options given on `cl`, as (parameter, value) in the order of kSamplingOptions.
// Each value is checked as /set checks it: CommandLineError "--temp: temperature must be between
// 0 and 100" for a bad one.
SamplingOverrides sampling_overrides(const CommandLine& cl);

}  // namespace dschat
