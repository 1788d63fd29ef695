// Fuzz target: the restricted unpickler on arbitrary bytes (data.pkl streams). An accepted
// stream's values must all be describable (cycles and deep nesting are safe).
#include "engine/model.h"
#include "engine/io/pickle.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  dschat::UnpickleLimits limits;
  limits.max_values = 1u << 16;  // keep each input fast; the limits themselves are part of the contract
  limits.max_memo = 1u << 16;
  limits.max_stack = 1u << 16;
  try {
    dschat::Unpickled result = dschat::unpickle(bytes, "fuzz: data.pkl", limits);
    if (result.root() != dschat::kNoPickleValue) (void)result.describe(result.root(), 4);
    for (dschat::PickleId id = 0; id < result.size() && id < 64; ++id) (void)result.describe(id);
  } catch (const dschat::ModelError&) {
  }
  return 0;
}
