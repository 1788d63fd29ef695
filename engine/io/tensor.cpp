#include "engine/io/tensor.h"

namespace dschat {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string TensorInfo::shape_string() const { return dschat::shape_string(shape); }

}  // namespace dschat
