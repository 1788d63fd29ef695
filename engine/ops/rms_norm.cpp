#include "engine/ops/rms_norm.h"

#include <cmath>

namespace dschat {

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out, RmsNormForm form) {
  double sum_squares = 0;  // double: exact enough for any hidden size
  for (int64_t i = 0; i < dim; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const double mean_square = sum_squares / static_cast<double>(dim);
  float inv_rms = static_cast<float>(form == RmsNormForm::DivideByRmsPlusEps ? 1.0 / (std::sqrt(mean_square) + eps)
                                                                             : 1.0 / std::sqrt(mean_square + eps));
  for (int64_t i = 0; i < dim; ++i) out[i] = x[i] * inv_rms * weight[i];
}

void rms_norm_rows(const float* x, int64_t ldx, const float* weight, int64_t dim, float eps, int64_t n,
                   float* out, int64_t ldout, RmsNormForm form) {
  for (int64_t t = 0; t < n; ++t) rms_norm(x + t * ldx, weight, dim, eps, out + t * ldout, form);
}

}  // namespace dschat
