#include "engine/io/pt_zip.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "engine/io/model_error.h"

namespace dschat {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kZip64EndSize = 56;
constexpr uint64_t kZip64LocatorSize = 20;

// Little-endian reads that throw instead of running past the end.
class Bytes {
 public:
  Bytes(std::span<const std::byte> bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  uint64_t size() const { return bytes_.size(); }
  bool has(uint64_t at, uint64_t n) const { return at <= bytes_.size() && n <= bytes_.size() - at; }

  void need(uint64_t at, uint64_t n, const char* what) const {
    if (!has(at, n)) {
      throw ModelError(label_ + ": zip is truncated or corrupt: " + what + " at byte " + std::to_string(at) +
                       " (+" + std::to_string(n) + ") lies outside the file (" + std::to_string(size()) + " bytes)");
    }
  }
  uint64_t le(uint64_t at, int n, const char* what) const {
    need(at, n, what);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<uint64_t>(bytes_[at + i]);
    return v;
  }
  uint16_t u16(uint64_t at, const char* what) const { return static_cast<uint16_t>(le(at, 2, what)); }
  uint32_t u32(uint64_t at, const char* what) const { return static_cast<uint32_t>(le(at, 4, what)); }
  uint64_t u64(uint64_t at, const char* what) const { return le(at, 8, what); }
  std::string str(uint64_t at, uint64_t n, const char* what) const {
    need(at, n, what);
    return std::string(reinterpret_cast<const char*>(bytes_.data() + at), n);
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& label_;
};

}  // namespace

ZipArchive::ZipArchive(std::span<const std::byte> bytes, std::string label)
    : bytes_(bytes), label_(std::move(label)) {
  parse();
}

void ZipArchive::parse() {
  Bytes b(bytes_, label_);
  if (b.size() < kEndSize) throw ModelError(label_ + ": not a zip archive (file is " + std::to_string(b.size()) + " bytes)");

  // The end-of-central-directory record: the last one whose comment reaches exactly to the end.
  uint64_t end = std::numeric_limits<uint64_t>::max();
  const uint64_t lowest = b.size() - kEndSize > 0xffff ? b.size() - kEndSize - 0xffff : 0;
  for (uint64_t at = b.size() - kEndSize + 1; at-- > lowest;) {
    if (b.u32(at, "end record") == kEndSig && at + kEndSize + b.u16(at + 20, "comment length") == b.size()) {
      end = at;
      break;
    }
  }
  if (end == std::numeric_limits<uint64_t>::max()) {
    throw ModelError(label_ + ": not a zip archive (no end-of-central-directory record; truncated?)");
  }
  uint64_t disk = b.u16(end + 4, "end record");
  uint64_t cd_disk = b.u16(end + 6, "end record");
  uint64_t count = b.u16(end + 10, "end record");
  uint64_t cd_size = b.u32(end + 12, "end record");
  uint64_t cd_offset = b.u32(end + 16, "end record");

  // Zip64: a locator right before the end record points at the zip64 end record.
  if (end >= kZip64LocatorSize && b.u32(end - kZip64LocatorSize, "zip64 locator") == kZip64LocatorSig) {
    uint64_t locator = end - kZip64LocatorSize;
    uint64_t z64 = b.u64(locator + 8, "zip64 locator");
    if (z64 > locator || b.u32(z64, "zip64 end record") != kZip64EndSig) {
      throw ModelError(label_ + ": corrupt zip64 end record (locator points at byte " + std::to_string(z64) + ")");
    }
    b.need(z64, kZip64EndSize, "zip64 end record");
    disk = b.u32(z64 + 16, "zip64 end record");
    cd_disk = b.u32(z64 + 20, "zip64 end record");
    count = b.u64(z64 + 32, "zip64 end record");
    cd_size = b.u64(z64 + 40, "zip64 end record");
    cd_offset = b.u64(z64 + 48, "zip64 end record");
    end = z64;  // the central directory must end before the zip64 record
  } else if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    throw ModelError(label_ + ": zip64 archive without its zip64 end record (truncated?)");
  }
  if (disk != 0 || cd_disk != 0) throw ModelError(label_ + ": multi-disk zip archives are not supported");
  if (cd_offset > end || cd_size > end - cd_offset) {
    throw ModelError(label_ + ": central directory (offset " + std::to_string(cd_offset) + ", " +
                     std::to_string(cd_size) + " bytes) lies outside the file; truncated?");
  }
  if (count > kMaxEntries || count > cd_size / kCentralHeaderSize) {
    throw ModelError(label_ + ": central directory claims " + std::to_string(count) + " entries in " +
                     std::to_string(cd_size) + " bytes");
  }
  parse_central_directory(cd_offset, cd_size, count);
}

void ZipArchive::parse_central_directory(uint64_t offset, uint64_t size, uint64_t count) {
  Bytes b(bytes_, label_);
  const uint64_t cd_end = offset + size;
  uint64_t at = offset;
  entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (at + kCentralHeaderSize > cd_end || b.u32(at, "central directory") != kCentralHeaderSig) {
      throw ModelError(label_ + ": corrupt central directory (entry " + std::to_string(i) + " at byte " +
                       std::to_string(at) + ")");
    }
    ZipEntry e;
    e.flags = b.u16(at + 8, "central directory");
    e.method = b.u16(at + 10, "central directory");
    e.compressed_size = b.u32(at + 20, "central directory");
    e.size = b.u32(at + 24, "central directory");
    uint64_t name_len = b.u16(at + 28, "central directory");
    uint64_t extra_len = b.u16(at + 30, "central directory");
    uint64_t comment_len = b.u16(at + 32, "central directory");
    uint64_t disk_start = b.u16(at + 34, "central directory");
    e.local_header_offset = b.u32(at + 42, "central directory");
    uint64_t record_end = at + kCentralHeaderSize + name_len + extra_len + comment_len;
    if (record_end > cd_end) throw ModelError(label_ + ": corrupt central directory (entry " + std::to_string(i) + " overruns it)");
    e.name = b.str(at + kCentralHeaderSize, name_len, "entry name");

    // Zip64 extra field: 8-byte values for exactly the fields saturated above, in this order.
    uint64_t x = at + kCentralHeaderSize + name_len;
    const uint64_t x_end = x + extra_len;
    while (x + 4 <= x_end) {
      uint16_t id = b.u16(x, "extra field");
      uint64_t len = b.u16(x + 2, "extra field");
      if (x + 4 + len > x_end) throw ModelError(label_ + ": corrupt extra field in entry '" + e.name + "'");
      if (id == kZip64ExtraId) {
        uint64_t f = x + 4;
        auto take = [&](uint64_t& field) {
          if (f + 8 > x + 4 + len) throw ModelError(label_ + ": short zip64 extra field in entry '" + e.name + "'");
          field = b.u64(f, "zip64 extra field");
          f += 8;
        };
        if (e.size == 0xffffffff) take(e.size);
        if (e.compressed_size == 0xffffffff) take(e.compressed_size);
        if (e.local_header_offset == 0xffffffff) take(e.local_header_offset);
        if (disk_start == 0xffff) {
          if (f + 4 > x + 4 + len) throw ModelError(label_ + ": short zip64 extra field in entry '" + e.name + "'");
          disk_start = b.u32(f, "zip64 extra field");
        }
      }
      x += 4 + len;
    }
    if (disk_start != 0) throw ModelError(label_ + ": entry '" + e.name + "' is on another disk");

    // The local header: same name; the data follows its name and (own) extra field.
    uint64_t lh = e.local_header_offset;
    if (lh >= offset || !b.has(lh, kLocalHeaderSize) || b.u32(lh, "local header") != kLocalHeaderSig) {
      throw ModelError(label_ + ": entry '" + e.name + "' has no local header at byte " + std::to_string(lh));
    }
    uint64_t lh_name = b.u16(lh + 26, "local header");
    uint64_t lh_extra = b.u16(lh + 28, "local header");
    if (lh_name != name_len || b.str(lh + kLocalHeaderSize, lh_name, "local header name") != e.name) {
      throw ModelError(label_ + ": entry '" + e.name + "': local header name does not match the central directory");
    }
    e.data_offset = lh + kLocalHeaderSize + lh_name + lh_extra;
    if (e.data_offset > offset || e.compressed_size > offset - e.data_offset) {
      throw ModelError(label_ + ": entry '" + e.name + "' (" + std::to_string(e.compressed_size) + " bytes at byte " +
                       std::to_string(e.data_offset) + ") runs past the data region; truncated?");
    }
    if (e.method == 0 && e.compressed_size != e.size) {
      throw ModelError(label_ + ": stored entry '" + e.name + "' has different compressed and uncompressed sizes");
    }
    if (!by_name_.emplace(e.name, entries_.size()).second) {
      throw ModelError(label_ + ": duplicate zip entry '" + e.name + "'");
    }
    entries_.push_back(std::move(e));
    at = record_end;
  }
}

const ZipEntry* ZipArchive::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

std::span<const std::byte> ZipArchive::read(const ZipEntry& entry) const {
  if (entry.flags & 1u) throw ModelError(label_ + ": zip entry '" + entry.name + "' is encrypted");
  if (entry.method != 0) {
    throw ModelError(label_ + ": zip entry '" + entry.name + "' is compressed (method " + std::to_string(entry.method) +
                     "); only stored entries are supported, as torch.save writes them");
  }
  return bytes_.subspan(entry.data_offset, entry.size);
}

}  // namespace dschat
