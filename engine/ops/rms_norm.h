// RMSNorm (Zhang & Sennrich 2019) as DeepSeek computes it, in float32:
//   y = x · rsqrt(mean(x²) + eps) · w
// or, RmsNormForm::DivideByRmsPlusEps (a from-scratch variant): y = w · x / (sqrt(mean(x²)) + eps).
#pragma once

#include <cstdint>


namespace dschat {

enum class RmsNormForm {
  RsqrtMeanSquare,     // x · rsqrt(mean(x²) + eps) · w        (DeepSeek, HF, ERA)
  DivideByRmsPlusEps,  // w · x / (sqrt(mean(x²)) + eps)       (Mayank's layers.py)
};

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* out,
              RmsNormForm form = RmsNormForm::RsqrtMeanSquare);

// Row by row over n rows of `dim` with strides (in floats) `ldx` and `ldout`.
void rms_norm_rows(const float* x, int64_t ldx, const float* weight, int64_t dim, float eps, int64_t n,
                   float* out, int64_t ldout, RmsNormForm form = RmsNormForm::RsqrtMeanSquare);

}  // namespace dschat
