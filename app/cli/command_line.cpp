#include "app/cli/command_line.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace dschat {

CommandLine::CommandLine(const std::vector<std::string>& args,
                         const std::set<std::string>& value_options,
                         const std::set<std::string>& flag_options,
                         const std::map<std::string, std::string>& aliases) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    if (auto alias = aliases.find(arg); alias != aliases.end()) arg = alias->second;
    if (value_options.count(arg)) {
      if (inline_value) {
        values_[arg] = *inline_value;
      } else if (i + 1 < args.size()) {
        values_[arg] = args[++i];
      } else {
        throw CommandLineError("option " + arg + " needs a value");
      }
    } else if (flag_options.count(arg)) {
      if (inline_value) throw CommandLineError("option " + arg + " takes no value");
      flags_.insert(arg);
    } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
      throw CommandLineError("unknown option " + args[i]);
    } else {
      positional_.push_back(arg);
    }
  }
}

bool CommandLine::has(const std::string& name) const {
  return flags_.count(name) || values_.count(name);
}

std::optional<std::string> CommandLine::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

long long CommandLine::get_int(const std::string& name, long long fallback, long long min,
                               long long max) const {
  auto text = get(name);
  if (!text) return fallback;
  errno = 0;
  char* end = nullptr;
  long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno == ERANGE || value < min || value > max) {
    throw CommandLineError("option " + name + " expects an integer in [" + std::to_string(min) +
                           ", " + std::to_string(max) + "], got '" + *text + "'");
  }
  return value;
}

double CommandLine::get_double(const std::string& name, double fallback, double min,
                               double max) const {
  auto text = get(name);
  if (!text) return fallback;
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || errno == ERANGE || !std::isfinite(value) || value < min ||
      value > max) {
    throw CommandLineError("option " + name + " expects a number in [" + std::to_string(min) +
                           ", " + std::to_string(max) + "], got '" + *text + "'");
  }
  return value;
}

}  // namespace dschat
