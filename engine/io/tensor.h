// Typed views into mapped checkpoint files. A view never owns its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/quant/dtype.h"

namespace dschat {

// One tensor inside a mapped file.
struct TensorInfo {
  std::string name;
  std::string file;            // the file that holds it, for error messages
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;  // elements; empty when row-major contiguous (always, but for .pt views)
  const std::byte* data = nullptr;  // element [0, 0, ...]
  uint64_t nbytes = 0;              // from `data` to the end of the last element

  int64_t element_count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  std::string shape_string() const;  // "[8, 512]"
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace dschat
