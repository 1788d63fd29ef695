// A load-time check for NaN and Inf in a model's weights, so a damaged or badly converted
// checkpoint is reported as a WARNING when it loads instead of only as an error when the first
// reply is sampled (engine/sampler.cpp: "logits contain no finite maximum").
//
// Cost: the check reads the weights again after Model::load has paged them in, at memory speed.
// Models up to kFullScanBytes are scanned whole. Larger ones are scanned whole for every tensor
// up to kSmallTensorBytes (norms, biases, routers: where one bad value spoils every token) and
// sampled for the big matrices: one 4 KiB block in every `stride` (first and last always), with
// the stride chosen so the total read stays near kFullScanBytes. Sampling finds damage that
// spans a tensor (an overflowed conversion, a zero-filled or garbage region) but can miss a
// single bad value in a large matrix; that one still ends generation with the sampler's error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/tensor.h"

namespace dschat {

inline constexpr uint64_t kFullScanBytes = 1ull << 30;     // 1 GiB: about 0.1-0.3 s
inline constexpr uint64_t kSmallTensorBytes = 4ull << 20;  // 4 MiB
inline constexpr uint64_t kScanBlockBytes = 4096;

struct NonFiniteCount {
  uint64_t nan = 0;
  uint64_t inf = 0;
  uint64_t checked = 0;  // elements looked at
};

// Counts NaN and ±Inf among the `bytes / dtype_size(dtype)` elements at `data` (F32, F16, BF16,
// F64; other dtypes are not counted). `data` need not be aligned.
NonFiniteCount count_nonfinite(DType dtype, const std::byte* data, uint64_t bytes);

// One tensor to check (a safetensors TensorInfo or a .pt storage).
struct ScannedTensor {
  std::string name;
  std::string file;
  DType dtype = DType::F32;
  const std::byte* data = nullptr;
  uint64_t bytes = 0;
};

struct NonFiniteReport {
  std::vector<std::string> warnings;  // "WARNING: ..." lines, empty when all is finite
  uint64_t bytes_total = 0;           // bytes of floating-point weights
  uint64_t bytes_scanned = 0;
};

// Checks `tensors` with the policy above (full_scan_bytes replaces kFullScanBytes, for tests).
NonFiniteReport scan_for_nonfinite(const std::vector<ScannedTensor>& tensors,
                                   uint64_t full_scan_bytes = kFullScanBytes);

// Opens the model at `path` (a directory of safetensors files, or a .pt file) read-only and
// checks its weights. Given the config's num_hidden_layers, tensors of a safetensors directory
// the engine does not use (multi-token-prediction layers, rotary caches: is_mtp_or_cache in
// engine/deepseek/model_weights.h) are left out: reading them would only page them in. Throws ModelError
// if the files cannot be read.
NonFiniteReport scan_model_for_nonfinite(const std::filesystem::path& path, int num_hidden_layers = -1);

// The warnings of scan_model_for_nonfinite(path, num_hidden_layers); a model that cannot be
// re-read is one warning saying so (the load itself succeeded, so this never throws).
std::vector<std::string> nonfinite_weight_warnings(const std::filesystem::path& path, int num_hidden_layers = -1);

}  // namespace dschat
