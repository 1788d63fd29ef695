// The XDG Base Directory locations dschat keeps its files in, and how they are created.
//   data  (conversations): $XDG_DATA_HOME,  default ~/.local/share
//   state (input history): $XDG_STATE_HOME, default ~/.local/state
// As the specification says, a relative value of the variable is ignored (as if unset). The home
// directory is $HOME, else the password database's entry for the user (HOME unset, as under some
// service managers), never the current directory.
#pragma once

#include <filesystem>

namespace dschat {

// $variable when it is an absolute path, else home_directory() / fallback; empty when there is
// no home directory either.
std::filesystem::path xdg_base_directory(const char* variable, const std::filesystem::path& fallback);

// $HOME if set and absolute, else the user's entry in the password database; empty if neither.
std::filesystem::path home_directory();

// Creates `dir` and every missing parent with mode 0700 (whatever the umask: the XDG spec asks
// for 0700, and a umask of 000 would make them 0777). Existing directories are left as they are.
// Throws std::runtime_error naming the directory that could not be created.
void create_private_directories(const std::filesystem::path& dir);

}  // namespace dschat
