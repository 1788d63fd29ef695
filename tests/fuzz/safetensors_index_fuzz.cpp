// Fuzz target: model.safetensors.index.json read by SafetensorsSource::open_directory, in a
// directory that also holds two small valid shards (a.safetensors with tensor "a",
// b.safetensors with tensor "b"), so the fuzzer can reach the cross-checks between the
// weight map and the shards.
#include <cstring>

#include "engine/model.h"
#include "engine/io/safetensors_source.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void write_shard(const std::filesystem::path& path, const std::string& tensor) {
  const std::string header = "{\"" + tensor + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  std::string bytes(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes += header;
  bytes += std::string(8, '\0');
  dschat::fuzz::write_bytes(path, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = dschat::fuzz::scratch_dir();
  static const bool shards_written = [&] {
    write_shard(dir / "a.safetensors", "a");
    write_shard(dir / "b.safetensors", "b");
    return true;
  }();
  (void)shards_written;
  dschat::fuzz::write_bytes(dir / "model.safetensors.index.json", data, size);
  try {
    auto collection = dschat::SafetensorsSource::open_directory(dir);
    for (const dschat::TensorInfo* t : collection->tensors()) {
      if (collection->find(t->name) != t) dschat::fuzz::property_failed("tensor not found by name");
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
