// The prompt history of the chat (Up/Down, Ctrl+R), kept across runs in
// $XDG_STATE_HOME/dschat/history (default ~/.local/state/dschat/history), mode 0600.
// One entry a line; a multi-line entry keeps its newlines escaped as "\n" (and "\" as "\\").
// DSCHAT_NOHISTORY=1 turns saving off.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// $XDG_STATE_HOME/dschat/history, or $HOME/.local/state/dschat/history; empty when neither
// variable is set.
std::filesystem::path default_history_path();

std::string escape_history_entry(std::string_view entry);
std::string unescape_history_entry(std::string_view line);

// The entries of a history file, oldest first ([] when it does not exist, cannot be read, is not a
// regular file or is larger than kHistoryLimit).
std::vector<std::string> load_history(const std::filesystem::path& path);

// Writes the newest `max_entries` entries (a temporary file renamed over the old one, mode 0600;
// the directory is created with mode 0700). Throws std::runtime_error naming the file.
void save_history(const std::filesystem::path& path, const std::vector<std::string>& entries,
                  size_t max_entries = 1000);

// Adds `entries` to the file as it is now and keeps its newest `max_entries` (readline's
// append_history + history_truncate_file): under the directory's DirectoryLock the file is read,
// extended and rewritten as save_history() writes, so two chat windows keep each other's lines.
// An entry equal to the file's last one is not repeated. Throws std::runtime_error naming the file.
void append_history(const std::filesystem::path& path, const std::vector<std::string>& entries,
                    size_t max_entries = 1000);

}  // namespace dschat
