// What a file held when a writer last read or wrote it, to tell later whether someone else has
// written it since: absent, or the size and a 64-bit hash (FNV-1a) of its contents. Contents, not
// modification times: a file rewritten within the same second, or copied back from a backup,
// still counts as changed unless its bytes are the same.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace dschat {

struct FileRevision {
  bool exists = false;
  bool readable = true;  // false: something is there that cannot be read as a regular file
  uint64_t size = 0;
  uint64_t hash = 0;
  bool operator==(const FileRevision&) const = default;
};

// The revision of a file holding `contents`.
FileRevision revision_of_contents(std::string_view contents);

// The revision of what is at `path` now (follows a symlink). Nothing there: {exists = false}. A
// directory, device, FIFO or a file that cannot be read: {exists = true, readable = false}, which
// equals no revision of contents. Never blocks on a FIFO.
FileRevision current_revision(const std::filesystem::path& path);

}  // namespace dschat
