#include "engine/io/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "engine/io/model_error.h"

namespace dschat {
namespace {

// a * b, or false on overflow past 2^63.
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > (uint64_t{1} << 63) / a) return false;
  out = a * b;
  return true;
}

// Bytes a value of `type` takes at least in the file (an empty string, an empty array).
uint64_t min_value_bytes(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
    case GgufType::String: return 8;
    case GgufType::Array: return 12;
  }
  return 1;
}

bool known_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::F64); }

// The reader of the header: a cursor over the mapped bytes; every read checks what remains.
class Cursor {
 public:
  Cursor(const std::byte* data, uint64_t size, std::string file) : data_(data), size_(size), file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(file_ + ": " + what); }
  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  // Array elements of all the metadata: a bound on memory beyond what the file size bounds (an
  // element takes at least 1 byte in the file but up to ~200 in memory).
  void take_elements(uint64_t n, const std::string& what) {
    if (n > elements_left_) {
      fail(what + ": the metadata arrays hold more than " + std::to_string(GgufFile::kMaxArrayElements) +
           " elements in all");
    }
    elements_left_ -= n;
  }

  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > remaining()) {
      fail(what + " runs past the end of the file (needs " + std::to_string(bytes) + " bytes at offset " +
           std::to_string(pos_) + ", the file has " + std::to_string(size_) + ")");
    }
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));  // GGUF is little-endian, as is every host dschat builds for
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& what) {
    const uint64_t len = read<uint64_t>(what + " (length)");
    if (len > GgufFile::kMaxStringBytes) {
      fail(what + " has length " + std::to_string(len) + ", more than the 1 GiB limit");
    }
    need(len, what + " of " + std::to_string(len) + " bytes");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }
  // `count` items of at least `min_bytes` each must fit in what remains (checked before reserving).
  void need_items(uint64_t count, uint64_t min_bytes, const std::string& what) const {
    uint64_t bytes = 0;
    if (!checked_mul(count, min_bytes, bytes) || bytes > remaining()) {
      fail(what + ": " + std::to_string(count) + " entries cannot fit in the " + std::to_string(remaining()) +
           " bytes left of the file");
    }
  }

 private:
  const std::byte* data_;
  uint64_t size_;
  std::string file_;
  uint64_t pos_ = 0;
  uint64_t elements_left_ = GgufFile::kMaxArrayElements;
};

GgufType read_type(Cursor& in, const std::string& what) {
  const uint32_t t = in.read<uint32_t>(what + " (type)");
  if (!known_type(t)) in.fail(what + " has unknown value type " + std::to_string(t));
  return static_cast<GgufType>(t);
}

void read_scalar(Cursor& in, GgufType type, const std::string& what, int64_t& i, uint64_t& u, double& f) {
  switch (type) {
    case GgufType::U8: u = in.read<uint8_t>(what); i = static_cast<int64_t>(u); return;
    case GgufType::I8: i = in.read<int8_t>(what); u = static_cast<uint64_t>(i); return;
    case GgufType::U16: u = in.read<uint16_t>(what); i = static_cast<int64_t>(u); return;
    case GgufType::I16: i = in.read<int16_t>(what); u = static_cast<uint64_t>(i); return;
    case GgufType::U32: u = in.read<uint32_t>(what); i = static_cast<int64_t>(u); return;
    case GgufType::I32: i = in.read<int32_t>(what); u = static_cast<uint64_t>(i); return;
    case GgufType::U64: u = in.read<uint64_t>(what); i = static_cast<int64_t>(u); return;
    case GgufType::I64: i = in.read<int64_t>(what); u = static_cast<uint64_t>(i); return;
    case GgufType::F32: f = in.read<float>(what); return;
    case GgufType::F64: f = in.read<double>(what); return;
    case GgufType::Bool: {
      const uint8_t b = in.read<uint8_t>(what);
      if (b > 1) in.fail(what + " is a bool of value " + std::to_string(b) + " (must be 0 or 1)");
      i = b;
      u = b;
      return;
    }
    case GgufType::String:
    case GgufType::Array: break;
  }
}

GgufValue read_value(Cursor& in, GgufType type, const std::string& what, int depth);

void read_array(Cursor& in, GgufValue& v, const std::string& what, int depth) {
  if (depth >= GgufFile::kMaxArrayNesting) {
    in.fail(what + ": arrays nested more than " + std::to_string(GgufFile::kMaxArrayNesting) + " deep");
  }
  v.element_type = read_type(in, what + " element");
  const uint64_t n = in.read<uint64_t>(what + " (array length)");
  in.need_items(n, min_value_bytes(v.element_type), what);
  in.take_elements(n, what);
  const size_t count = static_cast<size_t>(n);
  switch (v.element_type) {
    case GgufType::String:
      v.strings.reserve(count);
      for (size_t k = 0; k < count; ++k) v.strings.push_back(in.read_string(what + "[" + std::to_string(k) + "]"));
      return;
    case GgufType::Array:
      v.arrays.reserve(count);
      for (size_t k = 0; k < count; ++k) {
        v.arrays.push_back(read_value(in, GgufType::Array, what + "[" + std::to_string(k) + "]", depth + 1));
      }
      return;
    default: {  // scalars: floats in `floats`, integers and bools in `ints`
      const bool floating = v.element_type == GgufType::F32 || v.element_type == GgufType::F64;
      floating ? v.floats.reserve(count) : v.ints.reserve(count);
      for (size_t k = 0; k < count; ++k) {
        int64_t i = 0;
        uint64_t u = 0;
        double f = 0;
        read_scalar(in, v.element_type, what, i, u, f);
        if (floating) {
          v.floats.push_back(f);
        } else {
          v.ints.push_back(i);
        }
      }
      return;
    }
  }
}

GgufValue read_value(Cursor& in, GgufType type, const std::string& what, int depth) {
  GgufValue v;
  v.type = type;
  if (type == GgufType::String) {
    v.string_value = in.read_string(what);
  } else if (type == GgufType::Array) {
    read_array(in, v, what, depth);
  } else {
    read_scalar(in, type, what, v.int_value, v.uint_value, v.float_value);
  }
  return v;
}

std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return s.size() > 80 ? out + "..." : out;
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

bool GgufValue::is_integer() const {
  return type != GgufType::F32 && type != GgufType::F64 && type != GgufType::String && type != GgufType::Array &&
         type != GgufType::Bool;
}

uint64_t GgufValue::array_size() const {
  return ints.size() + floats.size() + strings.size() + arrays.size();
}

std::string GgufValue::summary() const {
  std::ostringstream s;
  s << gguf_type_name(type);
  switch (type) {
    case GgufType::String: s << " '" << printable(string_value) << "'"; break;
    case GgufType::Array: s << " of " << array_size() << " " << gguf_type_name(element_type); break;
    case GgufType::F32:
    case GgufType::F64: s << " " << float_value; break;
    case GgufType::U64: s << " " << uint_value; break;
    case GgufType::Bool: s << (int_value ? " true" : " false"); break;
    default: s << " " << int_value;
  }
  return s.str();
}

GgufFile::GgufFile(const std::filesystem::path& path) : file_(path) {
  const std::string fname = path.string();
  Cursor in(file_.data(), file_.size(), fname);
  if (file_.size() < 4 || std::memcmp(file_.data(), "GGUF", 4) != 0) in.fail("not a GGUF file (no 'GGUF' magic)");
  in.read<uint32_t>("magic");
  version_ = in.read<uint32_t>("version");
  if (version_ == 1) in.fail("GGUF version 1 is not supported (only 2 and 3; convert the file again)");
  if (version_ != 2 && version_ != 3) {
    const bool swapped = (version_ & 0xffff) == 0 && (version_ >> 24) <= 3;
    in.fail("GGUF version " + std::to_string(version_) + " is not supported (only 2 and 3" +
            (swapped ? "; the file looks big-endian" : "") + ")");
  }
  const uint64_t n_tensors = in.read<uint64_t>("tensor count");
  const uint64_t n_kv = in.read<uint64_t>("metadata count");
  in.need_items(n_kv, 8 + 4 + 1, "metadata count");
  metadata_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string what = "metadata entry " + std::to_string(k);
    std::string key = in.read_string(what + " key");
    const std::string kwhat = "metadata '" + printable(key) + "'";
    const GgufType type = read_type(in, kwhat);
    GgufValue value = read_value(in, type, kwhat, 0);
    if (metadata_index_.count(key)) in.fail(kwhat + " appears twice");
    metadata_index_[key] = metadata_.size();
    metadata_.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::U32) in.fail("metadata 'general.alignment' must be a u32, got " + a->summary());
    if (a->uint_value == 0 || (a->uint_value & (a->uint_value - 1)) != 0) {
      in.fail("metadata 'general.alignment' must be a power of two, got " + std::to_string(a->uint_value));
    }
    alignment_ = a->uint_value;
  }

  in.need_items(n_tensors, 8 + 4 + 4 + 8, "tensor count");
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensor t;
    t.name = in.read_string("tensor info " + std::to_string(k) + " name");
    const std::string what = "tensor '" + printable(t.name) + "'";
    const uint32_t n_dims = in.read<uint32_t>(what + " dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.fail(what + " has " + std::to_string(n_dims) + " dimensions (1 to " + std::to_string(kMaxDims) + " allowed)");
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = in.read<uint64_t>(what + " dimension");
      if (ne > uint64_t{INT64_MAX} || !checked_mul(elements, ne, elements)) in.fail(what + " has a shape too large");
      t.ne.push_back(ne);
    }
    const uint32_t type_id = in.read<uint32_t>(what + " type");
    t.type = ggml_type(type_id);
    if (!t.type) in.fail(what + " has unknown ggml type id " + std::to_string(type_id));
    t.offset = in.read<uint64_t>(what + " offset");
    const BlockGeometry block = t.type->block;
    if (t.ne[0] % static_cast<uint64_t>(block.weights) != 0) {
      in.fail(what + " of type " + t.type->name + " has rows of " + std::to_string(t.ne[0]) +
              " values, not a whole number of blocks of " + std::to_string(block.weights));
    }
    if (!checked_mul(elements / static_cast<uint64_t>(block.weights), block.bytes, t.nbytes)) {
      in.fail(what + " has a byte size too large");
    }
    if (t.offset % alignment_ != 0) {
      in.fail(what + " offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
              std::to_string(alignment_));
    }
    if (tensor_index_.count(t.name)) in.fail(what + " appears twice");
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment (the last padding may be
  // missing in a file of no tensor data).
  const uint64_t end_of_infos = in.position();
  data_offset_ = end_of_infos + (alignment_ - end_of_infos % alignment_) % alignment_;
  const uint64_t data_size = data_offset_ <= file_.size() ? file_.size() - data_offset_ : 0;
  for (const GgufTensor& t : tensors_) {
    // An empty tensor (a dimension of 0) still needs its offset inside the data section: its
    // address is formed (tensor_data), and a wild offset would be a wild pointer.
    if (t.nbytes == 0 && t.offset <= data_size) continue;
    if (data_offset_ > file_.size() || t.offset > data_size || t.nbytes > data_size - t.offset) {
      in.fail("tensor '" + printable(t.name) + "' (" + std::to_string(t.nbytes) + " bytes at data offset " +
              std::to_string(t.offset) + ") runs past the end of the file (data section of " +
              std::to_string(data_size) + " bytes)");
    }
  }
  // No two tensors may share bytes.
  std::vector<const GgufTensor*> sorted;
  for (const GgufTensor& t : tensors_) {
    if (t.nbytes > 0) sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(), [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->offset < sorted[i - 1]->offset + sorted[i - 1]->nbytes) {
      in.fail("tensors '" + printable(sorted[i - 1]->name) + "' and '" + printable(sorted[i]->name) +
              "' overlap in the data section");
    }
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace dschat
