#include "engine/io/gguf_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "common/regular_file.h"
#include "engine/io/model_error.h"

namespace dschat {
namespace {

constexpr size_t kBufferBytes = size_t{4} << 20;

std::string errno_text() { return std::strerror(errno); }

// Why `path` may not be replaced ("" when it may: absent, a regular file or a symbolic link).
std::string not_replaceable(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? "" : path.string() + ": cannot examine: " + errno_text();
  }
  if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return "";
  return path.string() + " is " + file_type_name(st.st_mode) + ", not a regular file: nothing was written";
}

template <typename T>
void append(std::vector<char>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));  // GGUF is little-endian, as is every host dschat builds for
}

void append_string(std::vector<char>& out, const std::string& s) {
  append<uint64_t>(out, s.size());
  const size_t at = out.size();
  out.resize(at + s.size());
  if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

void append_scalar(std::vector<char>& out, GgufType type, int64_t i, uint64_t u, double f) {
  switch (type) {
    case GgufType::U8: append<uint8_t>(out, static_cast<uint8_t>(u)); return;
    case GgufType::I8: append<int8_t>(out, static_cast<int8_t>(i)); return;
    case GgufType::U16: append<uint16_t>(out, static_cast<uint16_t>(u)); return;
    case GgufType::I16: append<int16_t>(out, static_cast<int16_t>(i)); return;
    case GgufType::U32: append<uint32_t>(out, static_cast<uint32_t>(u)); return;
    case GgufType::I32: append<int32_t>(out, static_cast<int32_t>(i)); return;
    case GgufType::U64: append<uint64_t>(out, u); return;
    case GgufType::I64: append<int64_t>(out, i); return;
    case GgufType::F32: append<float>(out, static_cast<float>(f)); return;
    case GgufType::F64: append<double>(out, f); return;
    case GgufType::Bool: append<uint8_t>(out, i ? 1 : 0); return;
    case GgufType::String:
    case GgufType::Array: break;
  }
}

void append_value(std::vector<char>& out, const GgufValue& v) {
  if (v.type == GgufType::String) {
    append_string(out, v.string_value);
  } else if (v.type == GgufType::Array) {
    append<uint32_t>(out, static_cast<uint32_t>(v.element_type));
    append<uint64_t>(out, v.array_size());
    switch (v.element_type) {
      case GgufType::String:
        for (const std::string& s : v.strings) append_string(out, s);
        break;
      case GgufType::Array:
        for (const GgufValue& a : v.arrays) append_value(out, a);  // its type is Array
        break;
      case GgufType::F32:
      case GgufType::F64:
        for (double f : v.floats) append_scalar(out, v.element_type, 0, 0, f);
        break;
      default:
        for (int64_t i : v.ints) append_scalar(out, v.element_type, i, static_cast<uint64_t>(i), 0);
    }
  } else {
    append_scalar(out, v.type, v.int_value, v.uint_value, v.float_value);
  }
}

}  // namespace

GgufValue gguf_u32(uint32_t v) {
  GgufValue g;
  g.type = GgufType::U32;
  g.int_value = v;
  g.uint_value = v;
  return g;
}
GgufValue gguf_i32(int32_t v) {
  GgufValue g;
  g.type = GgufType::I32;
  g.int_value = v;
  g.uint_value = static_cast<uint64_t>(v);
  return g;
}
GgufValue gguf_f32(float v) {
  GgufValue g;
  g.type = GgufType::F32;
  g.float_value = v;
  return g;
}
GgufValue gguf_bool(bool v) {
  GgufValue g;
  g.type = GgufType::Bool;
  g.int_value = g.uint_value = v ? 1 : 0;
  return g;
}
GgufValue gguf_string(std::string v) {
  GgufValue g;
  g.type = GgufType::String;
  g.string_value = std::move(v);
  return g;
}
GgufValue gguf_string_array(std::vector<std::string> v) {
  GgufValue g;
  g.type = GgufType::Array;
  g.element_type = GgufType::String;
  g.strings = std::move(v);
  return g;
}
GgufValue gguf_i32_array(const std::vector<int32_t>& v) {
  GgufValue g;
  g.type = GgufType::Array;
  g.element_type = GgufType::I32;
  g.ints.assign(v.begin(), v.end());
  return g;
}

GgufWriter::GgufWriter(std::filesystem::path target) : target_(std::move(target)) {
  if (const std::string why = not_replaceable(target_); !why.empty()) throw ModelError(why);
  const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
  std::string name = ".";  // built step by step: GCC 12 warns (-Wrestrict) on "." + string
  name += target_.filename().string();
  name += ".tmp-";
  name += std::to_string(::getpid());
  name += "-XXXXXX";
  std::string tmp = (dir / name).string();
  fd_ = ::mkstemp(tmp.data());
  if (fd_ < 0) {
    throw ModelError(target_.string() + ": cannot create a temporary file in " + dir.string() + ": " + errno_text());
  }
  tmp_ = tmp;
  ::fchmod(fd_, 0644);
  buffer_.reserve(kBufferBytes);
}

GgufWriter::~GgufWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void GgufWriter::fail(const std::string& what) {
  const std::string message = target_.string() + ": " + what;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  tmp_.clear();
  throw ModelError(message + " (nothing was written)");
}

void GgufWriter::add_metadata(const std::string& key, GgufValue value) {
  if (header_written_) fail("metadata '" + key + "' added after the header");
  for (const auto& [k, v] : metadata_) {
    if (k == key) fail("metadata '" + key + "' added twice");
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> ne, const GgmlType& type) {
  if (header_written_) fail("tensor '" + name + "' added after the header");
  if (ne.empty() || ne.size() > GgufFile::kMaxDims) fail("tensor '" + name + "' has " + std::to_string(ne.size()) + " dimensions");
  if (ne[0] % static_cast<uint64_t>(type.block.weights) != 0) {
    fail("tensor '" + name + "': rows of " + std::to_string(ne[0]) + " are not whole " + type.name + " blocks");
  }
  for (const Tensor& t : tensors_) {
    if (t.name == name) fail("tensor '" + name + "' added twice");
  }
  uint64_t elements = 1;
  for (uint64_t n : ne) elements *= n;
  Tensor t;
  t.name = name;
  t.ne = std::move(ne);
  t.type = type.id;
  t.offset = data_bytes_;
  t.nbytes = elements / static_cast<uint64_t>(type.block.weights) * static_cast<uint64_t>(type.block.bytes);
  data_bytes_ = t.offset + (t.nbytes + kAlignment - 1) / kAlignment * kAlignment;
  tensors_.push_back(std::move(t));
}

void GgufWriter::put(const void* bytes, size_t n) {
  const char* p = static_cast<const char*>(bytes);
  while (n > 0) {
    const size_t room = kBufferBytes - buffer_.size();
    const size_t take = std::min(room, n);
    buffer_.insert(buffer_.end(), p, p + take);
    p += take;
    n -= take;
    if (buffer_.size() == kBufferBytes) flush();
  }
}

void GgufWriter::flush() {
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail("cannot write " + tmp_.string() + ": " + errno_text());
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
}

void GgufWriter::write_header() {
  if (header_written_) fail("the header is written twice");
  bool has_alignment = false;
  for (const auto& [k, v] : metadata_) has_alignment |= k == "general.alignment";
  if (!has_alignment) metadata_.emplace_back("general.alignment", gguf_u32(kAlignment));
  std::vector<char> h;
  append<uint32_t>(h, 0x46554747);  // "GGUF"
  append<uint32_t>(h, 3);
  append<uint64_t>(h, tensors_.size());
  append<uint64_t>(h, metadata_.size());
  for (const auto& [k, v] : metadata_) {
    append_string(h, k);
    append<uint32_t>(h, static_cast<uint32_t>(v.type));
    append_value(h, v);
  }
  for (const Tensor& t : tensors_) {
    append_string(h, t.name);
    append<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne) append<uint64_t>(h, n);
    append<uint32_t>(h, t.type);
    append<uint64_t>(h, t.offset);
  }
  h.resize((h.size() + kAlignment - 1) / kAlignment * kAlignment, 0);
  put(h.data(), h.size());
  header_written_ = true;
  current_ = 0;
  current_done_ = 0;
}

void GgufWriter::write_data(const void* bytes, size_t n) {
  const char* p = static_cast<const char*>(bytes);
  if (!header_written_) fail("tensor data written before the header");
  while (n > 0) {
    if (current_ >= tensors_.size()) fail("more tensor data written than the tensors hold");
    const Tensor& t = tensors_[current_];
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, t.nbytes - current_done_));
    put(p, take);
    p += take;
    n -= take;
    current_done_ += take;
    if (current_done_ == t.nbytes) {
      static const char zeros[kAlignment] = {};
      put(zeros, static_cast<size_t>((kAlignment - t.nbytes % kAlignment) % kAlignment));
      ++current_;
      current_done_ = 0;
    }
  }
  // Tensors of no bytes are complete as soon as they are reached.
  while (current_ < tensors_.size() && tensors_[current_].nbytes == 0) ++current_;
}

void GgufWriter::commit() {
  if (!header_written_) write_header();
  while (current_ < tensors_.size() && tensors_[current_].nbytes == 0) ++current_;
  if (current_ != tensors_.size()) {
    fail("tensor '" + tensors_[current_].name + "' was not written whole (" + std::to_string(current_done_) + " of " +
         std::to_string(tensors_[current_].nbytes) + " bytes)");
  }
  flush();
  if (::fsync(fd_) != 0) fail("cannot flush " + tmp_.string() + ": " + errno_text());
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("cannot close " + tmp_.string() + ": " + errno_text());
  if (const std::string why = not_replaceable(target_); !why.empty()) {  // it may have appeared meanwhile
    ::unlink(tmp_.c_str());
    tmp_.clear();
    throw ModelError(why);
  }
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) fail("cannot replace " + target_.string() + ": " + errno_text());
  committed_ = true;
  const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace dschat
