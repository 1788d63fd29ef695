// Fuzz target: one GGUF file (header, typed metadata, tensor infos) opened and validated by
// GgufFile, then presented as a TensorSource by GgufSource; every accepted tensor must lie inside
// the file and be found by name.
#include "engine/io/gguf_source.h"
#include "engine/io/model_error.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = dschat::fuzz::scratch_dir() / "model.gguf";
  dschat::fuzz::write_bytes(path, data, size);
  try {
    dschat::GgufFile file(path);
    const std::byte* begin = file.mapping().data();
    const std::byte* end = begin + file.mapping().size();
    for (const dschat::GgufTensor& t : file.tensors()) {
      const std::byte* p = file.tensor_data(t);
      if (t.nbytes > 0 && (p < begin || p + t.nbytes > end)) dschat::fuzz::property_failed("tensor outside the file");
      if (file.find_tensor(t.name) != &t) dschat::fuzz::property_failed("tensor not found by name");
    }
    for (const auto& [key, value] : file.metadata()) {
      if (file.find(key) != &value) dschat::fuzz::property_failed("metadata key not found");
      (void)value.summary();
    }
    dschat::GgufSource source(path);
    for (const dschat::TensorInfo* t : source.tensors()) {
      if (source.find(t->name) != t) dschat::fuzz::property_failed("source tensor not found by name");
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
