// Conversation files on disk: one JSON file per conversation under
// $XDG_DATA_HOME/dschat/conversations/ (default ~/.local/share/dschat/conversations/), written
// atomically (temporary file ".<id>.json.tmp-<pid>-XXXXXX" in the same directory, fsync, rename,
// fsync of the directory), mode 0600. A failed write leaves the previous file intact.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "app/chat/conversation.h"
#include "app/chat/file_revision.h"

namespace dschat {

// Writing a conversation file failed; the message names the file and the system error.
struct ConversationWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The low-level write used for file contents: like ::write(fd, data, size), returning the
// bytes written or -1 with errno set. Tests replace it to inject faults (ENOSPC).
using WriteFunction = std::function<long(int fd, const char* data, std::size_t size)>;

// $XDG_DATA_HOME/dschat/conversations (or $HOME/.local/share/dschat/conversations).
std::filesystem::path default_conversations_dir();

// The line printed when the chat ends: "saved to PATH — resume with: dschat --resume PATH", the
// second PATH quoted for a POSIX shell when it holds anything but [A-Za-z0-9_./+:@%,=-].
std::string resume_line(const std::filesystem::path& saved);

// Atomically replaces `path` with `contents` (mode `mode`, 0600 unless given): temp file in the
// same directory (mkstemp: O_EXCL, never a planted symlink), write, fsync, rename, fsync the
// directory. Only a regular file, a symbolic link (replaced itself, never written through) or
// nothing is ever replaced: a device, FIFO, socket or directory at `path` is an error naming what
// it is (a rename would put a regular file in the place of /dev/full). Throws ConversationWriteError; on any failure the old file
// is untouched and the temporary file is removed.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents,
                           const WriteFunction& write = {}, unsigned mode = 0600);

struct ConversationFileInfo {
  std::filesystem::path path;
  std::string id;
  std::string updated;       // from the file
  std::string first_prompt;  // the first user message, for listings
  std::string title;         // from the file ("" in files older than titles)
  std::string model_name;
  size_t messages = 0;       // user and assistant messages
};

// What ConversationStore::save_unless_changed did.
struct GuardedSave {
  std::filesystem::path path;  // the file written
  FileRevision revision;       // what it holds now (the `expected` of the next save)
  std::string forked_id;       // not empty: the file had changed, so the conversation was saved
                               // under this new id instead (`path` is its file)
  std::filesystem::path changed_path;  // then: the file that had changed (left as it was)
};

class ConversationStore {
 public:
  // `dir` empty = default_conversations_dir(). The directory is created (0700) on first save.
  explicit ConversationStore(std::filesystem::path dir = {});

  const std::filesystem::path& dir() const { return dir_; }
  // dir()/<id>.json; the id must be a safe file stem (letters, digits, '-', '_').
  std::filesystem::path path_for(const Conversation& conversation) const;

  // Saves to path_for(conversation) (or `path` when given). Returns the path written.
  std::filesystem::path save(const Conversation& conversation, const std::filesystem::path& path = {}) const;
  // Saves to `path` (path_for(conversation) when empty) only if the file there is still
  // `expected`, what this writer last read from or wrote to it ({} = nothing was there). The
  // check and the write happen under the directory's DirectoryLock, so of two dschat processes
  // saving at once each sees the other's file. If the file changed (another dschat saved its
  // turns there, or `expected` is an older copy's), it is left untouched and the conversation is
  // written under a fresh id instead: no writer ever drops another's turns.
  GuardedSave save_unless_changed(const Conversation& conversation, const FileRevision& expected,
                                  const std::filesystem::path& path = {}) const;
  // Reads a conversation file (ConversationError on a bad file); `revision`, when given, gets
  // the revision of the bytes read.
  static Conversation load(const std::filesystem::path& path, FileRevision* revision = nullptr);
  // Exports: Markdown or JSON, written atomically too.
  void export_markdown(const Conversation& conversation, const std::filesystem::path& path) const;
  void export_json(const Conversation& conversation, const std::filesystem::path& path) const;

  // Conversation files in dir(), most recently updated first (unreadable files skipped).
  std::vector<ConversationFileInfo> list() const;
  // Removes what a writer killed in the middle of a save left behind: temporary files
  // ".<id>.json.tmp-<pid>-XXXXXX" in dir() whose writer process no longer exists or that are
  // older than `max_age` (a save takes well under a second). Nothing else is touched: no other
  // names, no symlinks, no subdirectories. Returns how many were removed. Called at start-up.
  size_t remove_stale_temporary_files(std::chrono::seconds max_age = std::chrono::seconds(60)) const;

  // The most recently updated conversation file, or empty.
  std::filesystem::path latest() const;

  // Fault injection for tests.
  void set_write_function(WriteFunction write) { write_ = std::move(write); }

 private:
  // Creates dir() (0700) when `target` is in it and it does not exist yet.
  void create_directory_for(const std::filesystem::path& target) const;

  std::filesystem::path dir_;
  WriteFunction write_;
};

}  // namespace dschat
