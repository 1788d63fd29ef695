// A small command-line parser shared by the subcommands: "--name value", "--name=value",
// short aliases ("-n"), boolean flags and positional arguments. Errors are CommandLineError
// with a message that names the offending option.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace dschat {

struct CommandLineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CommandLine {
 public:
  // `value_options`: options that take a value (e.g. {"--model", "-n"});
  // `flag_options`: options that take none (e.g. {"--json", "-v"});
  // `aliases`: short name -> long name (e.g. {"-n", "--n-predict"}).
  CommandLine(const std::vector<std::string>& args, const std::set<std::string>& value_options,
              const std::set<std::string>& flag_options,
              const std::map<std::string, std::string>& aliases = {});

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  long long get_int(const std::string& name, long long fallback, long long min, long long max) const;
  double get_double(const std::string& name, double fallback, double min, double max) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

}  // namespace dschat
