// The zip container of PyTorch checkpoints (torch.save since 1.6): a zip of STORED entries
// `<stem>/data.pkl`, `<stem>/data/<key>` (one per storage), `<stem>/version`, optionally
// `<stem>/byteorder`. Read in place from a mapped file: the central directory (zip64 end
// records included) gives every entry's name, size and local header; every offset and length
// is checked against the bytes that exist. Compressed or encrypted entries are refused.
// Format: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local header), 4.3.12 (central directory),
// 4.3.14-4.3.16 (zip64 end record, locator, end of central directory), 4.5.3 (zip64 extra).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dschat {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;          // 0 = stored; anything else is refused when read
  uint16_t flags = 0;
  uint64_t compressed_size = 0;
  uint64_t size = 0;            // uncompressed
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;     // first byte of the entry's data
};

class ZipArchive {
 public:
  // `bytes` must outlive the archive. `label` (the file path) starts every error message.
  // Throws ModelError on anything malformed: no end record, offsets or sizes outside the
  // file, a central directory entry that does not match its local header, duplicate names.
  ZipArchive(std::span<const std::byte> bytes, std::string label);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

  // The bytes of a stored entry. Throws ModelError for a compressed or encrypted entry.
  std::span<const std::byte> read(const ZipEntry& entry) const;

  const std::string& label() const { return label_; }

  static constexpr size_t kMaxEntries = 1u << 20;

 private:
  void parse();
  void parse_central_directory(uint64_t offset, uint64_t size, uint64_t count);

  std::span<const std::byte> bytes_;
  std::string label_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace dschat
