#include "app/chat/conversation_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "app/chat/conversation_file_parser.h"
#include "app/chat/directory_lock.h"
#include "app/chat/xdg_directories.h"
#include "common/regular_file.h"

namespace dschat {

namespace {

namespace fs = std::filesystem;

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

bool safe_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

long default_write(int fd, const char* data, std::size_t size) { return ::write(fd, data, size); }

// The writer's pid if `name` is a temporary file of write_file_atomically() for a conversation
// file: ".<safe id>.json.tmp-<pid>-XXXXXX" (0 for the pid-less ".<safe id>.json.tmp-XXXXXX" of
// older versions); nullopt for any other name. mkstemp's six characters are letters and digits.
std::optional<long> temporary_file_writer(const std::string& name) {
  const std::string marker = ".json.tmp-";
  if (name.size() < 2 || name[0] != '.') return std::nullopt;
  const size_t at = name.find(marker);
  if (at == std::string::npos || !safe_id(name.substr(1, at - 1))) return std::nullopt;
  std::string rest = name.substr(at + marker.size());
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (rest.size() < 6 || !std::all_of(rest.end() - 6, rest.end(), alnum)) return std::nullopt;
  if (rest.size() == 6) return 0;
  const std::string pid = rest.substr(0, rest.size() - 6);
  if (pid.size() < 3 || pid.size() > 11 || pid.back() != '-') return std::nullopt;
  if (!std::all_of(pid.begin(), pid.end() - 1, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return std::stol(pid.substr(0, pid.size() - 1));
}

bool process_is_gone(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH; }

}  // namespace

fs::path default_conversations_dir() {
  const fs::path base = xdg_base_directory("XDG_DATA_HOME", fs::path(".local") / "share");
  if (base.empty()) {
    throw ConversationWriteError("no place for conversations: HOME is not set and the user has no home directory "
                                 "(set XDG_DATA_HOME or HOME)");
  }
  return base / "dschat" / "conversations";
}

namespace {

// Why `path` may not be replaced by a new regular file ("" when it may: absent, a regular file or
// a symbolic link).
std::string not_replaceable(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? "" : system_error("cannot examine " + path.string());
  // A symbolic link is replaced itself, never written through (what it points to is untouched).
  if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return "";
  return path.string() + " is " + file_type_name(st.st_mode) + ", not a regular file: nothing was written";
}

}  // namespace

void write_file_atomically(const fs::path& path, const std::string& contents, const WriteFunction& write,
                           unsigned mode) {
  if (const std::string why = not_replaceable(path); !why.empty()) throw ConversationWriteError(why);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string name = ".";  // built step by step: GCC 12 warns (-Wrestrict) on "." + string
  name += path.filename().string();
  name += ".tmp-";
  name += std::to_string(::getpid());  // lets remove_stale_temporary_files() tell a dead writer's file
  name += "-XXXXXX";
  std::string tmp = (dir / name).string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    throw ConversationWriteError(
        system_error("cannot write " + path.string() + ": cannot create a temporary file in " + dir.string()));
  }
  auto fail = [&](const std::string& what) {
    std::string message = system_error(what);
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw ConversationWriteError(message);
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) fail("cannot set the mode of " + tmp);
  const char* data = contents.data();
  std::size_t left = contents.size();
  while (left > 0) {
    long n = write ? write(fd, data, left) : default_write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail("cannot write " + path.string());
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot flush " + path.string());
  int rc = ::close(fd);
  fd = -1;
  if (rc != 0) fail("cannot close " + path.string());
  if (const std::string why = not_replaceable(path); !why.empty()) {  // it may have appeared meanwhile
    errno = 0;
    ::unlink(tmp.c_str());
    throw ConversationWriteError(why);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot replace " + path.string());
  // Make the rename itself durable.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

ConversationStore::ConversationStore(fs::path dir) : dir_(dir.empty() ? default_conversations_dir() : std::move(dir)) {}

fs::path ConversationStore::path_for(const Conversation& conversation) const {
  if (!safe_id(conversation.id))
    throw ConversationWriteError("conversation id '" + conversation.id + "' is not a safe file name");
  return dir_ / (conversation.id + ".json");
}

void ConversationStore::create_directory_for(const fs::path& target) const {
  std::error_code ec;
  if (target.parent_path() == dir_ && !fs::exists(dir_, ec)) {  // the store's own directory: create it (0700)
    try {
      create_private_directories(dir_);
    } catch (const std::exception& e) {
      throw ConversationWriteError(e.what());
    }
  }
}

fs::path ConversationStore::save(const Conversation& conversation, const fs::path& path) const {
  fs::path target = path.empty() ? path_for(conversation) : path;
  create_directory_for(target);
  write_file_atomically(target, conversation_file_text(conversation), write_);
  return target;
}

GuardedSave ConversationStore::save_unless_changed(const Conversation& conversation, const FileRevision& expected,
                                                   const fs::path& path) const {
  const fs::path first_target = path.empty() ? path_for(conversation) : path;
  std::string id = conversation.id;  // a fork changes only the id: the conversation is not copied
  fs::path target = first_target;
  FileRevision wanted = expected;
  GuardedSave result;
  // A fresh id's file must not exist either; two ids made in the same second by two forking
  // processes collide once in 65536, so a few attempts are plenty.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::string contents = conversation_file_text(conversation, id);
    create_directory_for(target);
    std::optional<DirectoryLock> lock;
    try {
      lock.emplace(target.parent_path());
    } catch (const std::exception& e) {
      throw ConversationWriteError(e.what());
    }
    // A directory or device there never equals a revision: the conversation goes to a new id.
    if (current_revision(target) == wanted) {
      write_file_atomically(target, contents, write_);
      result.path = target;
      result.revision = revision_of_contents(contents);
      if (target != first_target) {
        result.forked_id = id;
        result.changed_path = first_target;
      }
      return result;
    }
    id = new_conversation_id();
    Conversation named;  // path_for needs only the id
    named.id = id;
    target = path_for(named);
    wanted = FileRevision{};  // the new id's file: nothing may be there yet
  }
  throw ConversationWriteError("cannot save " + first_target.string() +
                               ": it was changed by another writer, and no fresh conversation id was free");
}

Conversation ConversationStore::load(const fs::path& path, FileRevision* revision) {
  std::string text;
  try {
    text = read_regular_file(path, kConversationLimit);  // never blocks on a FIFO (--resume, /load)
  } catch (const FileReadError& e) {
    throw ConversationError(e.what());
  }
  if (revision) *revision = revision_of_contents(text);
  return parse_conversation_file(text, path.string());  // no DOM of the file
}

void ConversationStore::export_markdown(const Conversation& conversation, const fs::path& path) const {
  write_file_atomically(path, conversation_to_markdown(conversation), write_);
}

void ConversationStore::export_json(const Conversation& conversation, const fs::path& path) const {
  write_file_atomically(path, conversation_file_text(conversation), write_);
}

std::vector<ConversationFileInfo> ConversationStore::list() const {
  std::vector<ConversationFileInfo> out;
  std::error_code ec;
  // Without exceptions: an entry that cannot be examined (a symlink loop, a dangling link, a file
  // removed meanwhile) is skipped, never the end of the listing.
  fs::directory_iterator it(dir_, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::error_code entry_ec;
    if (entry.path().extension() != ".json" || !entry.is_regular_file(entry_ec)) continue;
    try {
      Conversation c = load(entry.path());
      ConversationFileInfo info{entry.path(), entry.path().stem().string(), c.updated, {}, c.title, c.model.name,
                                c.messages.size()};
      for (const Message& m : c.messages)
        if (m.role == Role::User) {
          info.first_prompt = m.content;
          break;
        }
      out.push_back(std::move(info));
    } catch (const ConversationError&) {
      // not a conversation file: skipped
    }
  }
  std::sort(out.begin(), out.end(), [](const ConversationFileInfo& a, const ConversationFileInfo& b) {
    return a.updated != b.updated ? a.updated > b.updated : a.id > b.id;
  });
  return out;
}

size_t ConversationStore::remove_stale_temporary_files(std::chrono::seconds max_age) const {
  size_t removed = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::optional<long> writer = temporary_file_writer(entry.path().filename().string());
    std::error_code entry_ec;
    if (!writer || !entry.is_regular_file(entry_ec) || entry.is_symlink(entry_ec)) continue;
    const bool own = *writer == static_cast<long>(::getpid());
    const auto written = fs::last_write_time(entry.path(), entry_ec);
    const bool old = !entry_ec && now - written > max_age;
    if (old || (!own && process_is_gone(*writer))) {
      if (fs::remove(entry.path(), entry_ec)) ++removed;
    }
  }
  return removed;
}

fs::path ConversationStore::latest() const {
  std::vector<ConversationFileInfo> all = list();
  return all.empty() ? fs::path() : all.front().path;
}

std::string resume_line(const std::filesystem::path& saved) {
  const std::string path = saved.string();
  bool plain = !path.empty();
  for (unsigned char c : path) {
    if (!(std::isalnum(c) || std::string_view("_./+:@%,=-").find(static_cast<char>(c)) != std::string_view::npos)) {
      plain = false;
    }
  }
  std::string quoted = path;
  if (!plain) {
    quoted = "'";
    for (char c : path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
  }
  return "saved to " + path + " \u2014 resume with: dschat --resume " + quoted;
}

}  // namespace dschat
