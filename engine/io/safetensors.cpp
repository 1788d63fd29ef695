#include "engine/io/safetensors.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "engine/io/model_error.h"
#include "common/json_limits.h"

namespace dschat {
namespace {

using nlohmann::json;

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

// a * b, or false on overflow past 2^63.
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > (uint64_t{1} << 63) / a) return false;
  out = a * b;
  return true;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string fname = path.string();
  auto fail = [&](const std::string& what) { throw ModelError(fname + ": " + what); };
  if (file_.size() < 8) fail("too short for a safetensors file (" + std::to_string(file_.size()) + " bytes)");
  uint64_t header_len = read_u64_le(file_.data());
  if (header_len > kMaxHeaderBytes) {
    fail("header length " + std::to_string(header_len) + " exceeds the 100 MB limit (not a safetensors file?)");
  }
  if (header_len > file_.size() - 8) {
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(file_.size()) + " bytes)");
  }
  const char* header_text = reinterpret_cast<const char*>(file_.data() + 8);
  json header;
  try {
    header = parse_json_bounded(header_text, header_text + header_len);
  } catch (const json::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  } catch (const JsonTooDeep& e) {
    fail(std::string("header: ") + e.what());
  }
  if (!header.is_object()) fail("header is not a JSON object");

  const std::byte* data_region = file_.data() + 8 + header_len;
  const uint64_t data_size = file_.size() - 8 - header_len;
  tensors_.reserve(header.size());
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") continue;  // free-form strings; not needed
    auto tfail = [&](const std::string& what) { fail("tensor '" + name + "': " + what); };
    const json& e = it.value();
    if (!e.is_object()) tfail("entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) tfail("missing or non-string 'dtype'");
    std::string dtype_text = e["dtype"].get<std::string>();
    auto dtype = dtype_from_name(dtype_text);
    if (!dtype) tfail("unknown dtype '" + dtype_text + "'");
    if (!e.contains("shape") || !e["shape"].is_array()) tfail("missing or non-array 'shape'");
    TensorInfo t;
    t.name = name;
    t.file = fname;
    t.dtype = *dtype;
    uint64_t elements = 1;
    for (const json& d : e["shape"]) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<long long>() >= 0)) {
        tfail("shape " + json_summary(e["shape"]) + " has a dimension that is not a non-negative integer");
      }
      uint64_t dim = d.get<uint64_t>();
      if (!checked_mul(elements, dim, elements)) tfail("shape " + json_summary(e["shape"]) + " is too large");
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2 ||
        !e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned()) {
      tfail("'data_offsets' must be two non-negative integers");
    }
    uint64_t begin = e["data_offsets"][0].get<uint64_t>();
    uint64_t end = e["data_offsets"][1].get<uint64_t>();
    if (end < begin) tfail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] are reversed");
    if (end > data_size) {
      tfail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
            "] run past the end of the data region (" + std::to_string(data_size) + " bytes)");
    }
    uint64_t expected = 0;
    if (!checked_mul(elements, dtype_size(*dtype), expected)) tfail("byte size overflows");
    if (expected != end - begin) {
      tfail("shape " + t.shape_string() + " x " + dtype_text + " is " + std::to_string(expected) +
            " bytes but data_offsets span " + std::to_string(end - begin) + " bytes");
    }
    t.data = data_region + begin;
    t.nbytes = end - begin;
    if (by_name_.count(name)) tfail("appears twice in the header");
    by_name_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  // No two tensors may share bytes.
  std::vector<const TensorInfo*> sorted;
  for (const TensorInfo& t : tensors_) {
    if (t.nbytes > 0) sorted.push_back(&t);
  }
  std::sort(sorted.begin(), sorted.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->data < b->data; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->data < sorted[i - 1]->data + sorted[i - 1]->nbytes) {
      fail("tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap in the data region");
    }
  }
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace dschat
