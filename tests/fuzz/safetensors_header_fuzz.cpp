// Fuzz target: one safetensors file (8-byte length, JSON header, data region) opened and
// validated by SafetensorsFile; every accepted tensor must lie inside the file.
#include "engine/model.h"
#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = dschat::fuzz::scratch_dir() / "model.safetensors";
  dschat::fuzz::write_bytes(path, data, size);
  try {
    dschat::SafetensorsFile file(path);
    const std::byte* begin = file.mapping().data();
    const std::byte* end = begin + file.mapping().size();
    for (const dschat::TensorInfo& t : file.tensors()) {
      const std::byte* p = static_cast<const std::byte*>(t.data);
      if (t.nbytes > 0 && (p < begin || p + t.nbytes > end)) dschat::fuzz::property_failed("tensor outside the file");
      if (file.find(t.name) == nullptr) dschat::fuzz::property_failed("tensor not found by name");
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
