#include "app/tui/history_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "app/chat/conversation_store.h"
#include "app/chat/directory_lock.h"
#include "app/chat/xdg_directories.h"
#include "common/regular_file.h"

namespace dschat {

std::filesystem::path default_history_path() {
  const std::filesystem::path base = xdg_base_directory("XDG_STATE_HOME", std::filesystem::path(".local") / "state");
  return base.empty() ? base : base / "dschat" / "history";  // empty: no history kept
}

std::string escape_history_entry(std::string_view entry) {
  std::string out;
  for (char c : entry) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

std::string unescape_history_entry(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && (line[i + 1] == 'n' || line[i + 1] == '\\')) {
      out += line[i + 1] == 'n' ? '\n' : '\\';
      ++i;
    } else {
      out += line[i];
    }
  }
  return out;
}

std::vector<std::string> load_history(const std::filesystem::path& path) {
  std::vector<std::string> entries;
  std::string text;
  try {
    text = read_regular_file(path, kHistoryLimit);  // a FIFO or a device there is no history
  } catch (const FileReadError&) {
    return entries;
  }
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) entries.push_back(unescape_history_entry(std::string_view(text).substr(start, end - start)));
    start = end + 1;
  }
  return entries;
}

void save_history(const std::filesystem::path& path, const std::vector<std::string>& entries, size_t max_entries) {
  std::filesystem::path dir = path.parent_path();
  if (!dir.empty()) {
    create_private_directories(dir);
  }
  std::string contents;
  size_t first = entries.size() > max_entries ? entries.size() - max_entries : 0;
  for (size_t i = first; i < entries.size(); ++i) contents += escape_history_entry(entries[i]) + "\n";
  // The conversations' writer: a mkstemp temporary (never a planted symlink at a predictable
  // name, as the old "<path>.tmp<pid>" opened without O_EXCL allowed), fsync, rename over a
  // regular file or nothing.
  try {
    write_file_atomically(path, contents, {}, 0600);
  } catch (const ConversationWriteError& e) {
    throw std::runtime_error(e.what());
  }
}

void append_history(const std::filesystem::path& path, const std::vector<std::string>& entries,
                    size_t max_entries) {
  const std::filesystem::path dir = path.parent_path();
  if (!dir.empty()) create_private_directories(dir);
  DirectoryLock lock(dir);  // held until the merged file has replaced the old one
  std::vector<std::string> merged = load_history(path);
  for (const std::string& entry : entries) {
    if (merged.empty() || merged.back() != entry) merged.push_back(entry);
  }
  save_history(path, merged, max_entries);
}

}  // namespace dschat
