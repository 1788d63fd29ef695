// Fuzz target: a whole .pt checkpoint from bytes (zip + unpickler + state-dict binding); every
// tensor view that is accepted must lie inside its storage.
#include "engine/model.h"
#include "engine/io/pt_checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    dschat::PtCheckpoint checkpoint(bytes, "fuzz.pt");
    for (const dschat::PtTensor& t : checkpoint.tensors()) {
      if (t.element_count() > 0) {
        if (t.data < t.storage.data() || t.data > t.storage.data() + t.storage.size()) {
          dschat::fuzz::property_failed("tensor view starts outside its storage");
        }
      }
      if (t.is_contiguous()) {
        try {
          dschat::TensorInfo info = t.info("fuzz.pt");
          if (info.nbytes > 0 && info.data + info.nbytes > t.storage.data() + t.storage.size()) {
            dschat::fuzz::property_failed("contiguous tensor runs past its storage");
          }
        } catch (const dschat::ModelError&) {
        }
      }
    }
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
