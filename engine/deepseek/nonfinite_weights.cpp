#include "engine/deepseek/nonfinite_weights.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/deepseek/model_weights.h"
#include "engine/io/pt_checkpoint.h"
#include "engine/io/gguf_source.h"
#include "engine/io/safetensors_source.h"

namespace dschat {

namespace {

// IEEE 754: a value is NaN or ±Inf when its exponent bits are all ones; Inf when, besides, the
// mantissa is zero. `kExponent` is the exponent mask of the format held in `Bits`.
// Clean weights (the usual case) cost one max-reduction pass, which vectorises well; only data
// with a non-finite value is counted exactly.
template <typename Bits, Bits kExponent>
NonFiniteCount count_format(const std::byte* data, uint64_t n) {
  constexpr Bits kMagnitude = static_cast<Bits>(~(Bits(1) << (sizeof(Bits) * 8 - 1)));
  Bits largest = 0;  // of |v| as bits: at least kExponent when some value is NaN or Inf
  for (uint64_t i = 0; i < n; ++i) {
    Bits v;
    std::memcpy(&v, data + i * sizeof(Bits), sizeof v);
    largest = std::max(largest, static_cast<Bits>(v & kMagnitude));
  }
  if (largest < kExponent) return {0, 0, n};
  uint64_t nonfinite = 0, inf = 0;
  for (uint64_t i = 0; i < n; ++i) {
    Bits v;
    std::memcpy(&v, data + i * sizeof(Bits), sizeof v);
    const Bits magnitude = static_cast<Bits>(v & kMagnitude);
    nonfinite += (magnitude & kExponent) == kExponent;
    inf += magnitude == kExponent;
  }
  return {nonfinite - inf, inf, n};
}

bool is_float(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F64 ||
         dtype == DType::F8_E4M3;
}

void add(NonFiniteCount& total, const NonFiniteCount& part) {
  total.nan += part.nan;
  total.inf += part.inf;
  total.checked += part.checked;
}

// Checks blocks 0, stride, 2·stride, ... and the last block of `t` (all blocks when stride is 1).
NonFiniteCount scan_tensor(const ScannedTensor& t, uint64_t stride) {
  NonFiniteCount count;
  const uint64_t element = dtype_size(t.dtype);
  const uint64_t blocks = (t.bytes + kScanBlockBytes - 1) / kScanBlockBytes;
  if (stride <= 1) return count_nonfinite(t.dtype, t.data, t.bytes / element * element);
  for (uint64_t b = 0; b < blocks; ++b) {
    if (b % stride != 0 && b != blocks - 1) continue;
    const uint64_t offset = b * kScanBlockBytes;
    const uint64_t length = std::min(kScanBlockBytes, t.bytes - offset) / element * element;
    add(count, count_nonfinite(t.dtype, t.data + offset, length));
  }
  return count;
}

std::string warning_for(const ScannedTensor& t, const NonFiniteCount& c) {
  std::string what;
  if (c.nan) what = std::to_string(c.nan) + " NaN";
  if (c.inf) what += (what.empty() ? "" : " and ") + std::to_string(c.inf) + " infinite";
  return "WARNING: " + t.file + ": tensor '" + t.name + "' holds " + what + " value" +
         (c.nan + c.inf == 1 ? "" : "s") + " (of " + std::to_string(c.checked) +
         " checked): replies will stop with an error or be garbage; the file is damaged or was converted wrongly";
}

}  // namespace

NonFiniteCount count_nonfinite(DType dtype, const std::byte* data, uint64_t bytes) {
  switch (dtype) {
    case DType::F32: return count_format<uint32_t, 0x7F800000u>(data, bytes / 4);
    case DType::F16: return count_format<uint16_t, 0x7C00u>(data, bytes / 2);
    case DType::BF16: return count_format<uint16_t, 0x7F80u>(data, bytes / 2);
    case DType::F64: return count_format<uint64_t, 0x7FF0000000000000ull>(data, bytes / 8);
    case DType::F8_E4M3: {  // no infinities: S.1111.111, the all-ones "exponent" here, is NaN
      const NonFiniteCount c = count_format<uint8_t, 0x7Fu>(data, bytes);
      return {c.nan + c.inf, 0, c.checked};
    }
    default: return {};
  }
}

NonFiniteReport scan_for_nonfinite(const std::vector<ScannedTensor>& tensors, uint64_t full_scan_bytes) {
  NonFiniteReport report;
  uint64_t small_bytes = 0;
  for (const ScannedTensor& t : tensors) {
    if (!is_float(t.dtype) || t.data == nullptr) continue;
    report.bytes_total += t.bytes;
    if (t.bytes <= kSmallTensorBytes) small_bytes += t.bytes;
  }
  // Blocks of the large tensors: one in `stride`, so they add about the budget left after the
  // small tensors (at least a quarter of it).
  uint64_t stride = 1;
  if (report.bytes_total > full_scan_bytes) {
    const uint64_t large = report.bytes_total - small_bytes;
    const uint64_t budget = std::max(full_scan_bytes / 4, full_scan_bytes > small_bytes ? full_scan_bytes - small_bytes : 0);
    stride = std::max<uint64_t>(1, (large + budget - 1) / std::max<uint64_t>(budget, 1));
  }
  constexpr size_t kMaxListed = 5;
  size_t damaged = 0;
  for (const ScannedTensor& t : tensors) {
    if (!is_float(t.dtype) || t.data == nullptr) continue;
    const NonFiniteCount c = scan_tensor(t, t.bytes <= kSmallTensorBytes ? 1 : stride);
    report.bytes_scanned += c.checked * dtype_size(t.dtype);
    if (c.nan + c.inf == 0) continue;
    if (++damaged <= kMaxListed) report.warnings.push_back(warning_for(t, c));
  }
  if (damaged > kMaxListed) {
    report.warnings.push_back("WARNING: and " + std::to_string(damaged - kMaxListed) +
                              " more tensors hold NaN or infinite values");
  }
  return report;
}

NonFiniteReport scan_model_for_nonfinite(const std::filesystem::path& path, int num_hidden_layers) {
  std::vector<ScannedTensor> tensors;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto collection = SafetensorsSource::open_directory(path);
    for (const TensorInfo* t : collection->tensors()) {
      if (num_hidden_layers >= 0 && is_mtp_or_cache(t->name, num_hidden_layers)) continue;
      tensors.push_back({t->name, t->file, t->dtype, t->data, t->nbytes});
    }
    return scan_for_nonfinite(tensors);  // `collection` (the mapping) lives until here
  }
  if (path.extension() == ".gguf") {  // float tensors only: block types are not counted
    GgufSource gguf(path);
    for (const TensorInfo* t : gguf.tensors()) {
      if (num_hidden_layers >= 0 && is_mtp_or_cache(t->name, num_hidden_layers)) continue;
      tensors.push_back({t->name, t->file, t->dtype, t->data, t->nbytes});
    }
    return scan_for_nonfinite(tensors);
  }
  PtCheckpoint checkpoint(path);
  std::set<std::string> seen;  // tensors that share a storage: scan it once
  for (const PtTensor& t : checkpoint.tensors()) {
    if (!seen.insert(t.storage_key).second) continue;
    tensors.push_back({t.name, checkpoint.label(), t.dtype, t.storage.data(), t.storage.size()});
  }
  return scan_for_nonfinite(tensors);
}

std::vector<std::string> nonfinite_weight_warnings(const std::filesystem::path& path, int num_hidden_layers) {
  try {
    return scan_model_for_nonfinite(path, num_hidden_layers).warnings;
  } catch (const std::exception& e) {
    return {std::string("WARNING: could not check the weights for NaN or infinite values: ") + e.what()};
  }
}

}  // namespace dschat
