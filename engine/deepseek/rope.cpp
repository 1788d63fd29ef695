#include "engine/deepseek/rope.h"

#include <algorithm>
#include <cmath>

namespace dschat {

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

namespace {

// Dimension index at which `rotations` full turns fit in the original context (YaRN eq. 17).
double yarn_correction_dim(double rotations, int dim, double base, int original_max_positions) {
  return dim * std::log(original_max_positions / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

Rope::Rope(const ModelConfig& config) : dim_(config.qk_rope_head_dim), interleaved_(config.rope_interleave) {
  const int half = dim_ / 2;
  inv_freq_.resize(half);
  for (int i = 0; i < half; ++i) inv_freq_[i] = 1.0 / std::pow(config.rope_theta, 2.0 * i / dim_);
  softmax_scale_ = 1.0 / std::sqrt(static_cast<double>(config.qk_head_dim()));
  if (config.rope_scaling) {
    const RopeScaling& y = *config.rope_scaling;
    double low = std::floor(yarn_correction_dim(y.beta_fast, dim_, config.rope_theta, y.original_max_position_embeddings));
    double high = std::ceil(yarn_correction_dim(y.beta_slow, dim_, config.rope_theta, y.original_max_position_embeddings));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim_ - 1));
    if (low == high) high += 0.001;  // avoid a zero-width ramp
    for (int i = 0; i < half; ++i) {
      double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
      double extrapolation_weight = 1.0 - ramp;  // high-frequency pairs keep their frequency
      double extrapolated = inv_freq_[i];
      double interpolated = inv_freq_[i] / y.factor;
      inv_freq_[i] = interpolated * (1.0 - extrapolation_weight) + extrapolated * extrapolation_weight;
    }
    attention_factor_ = yarn_get_mscale(y.factor, y.mscale) / yarn_get_mscale(y.factor, y.mscale_all_dim);
    if (y.mscale_all_dim != 0) {
      double m = yarn_get_mscale(y.factor, y.mscale_all_dim);
      softmax_scale_ *= m * m;
    }
  }
}

void Rope::angles(int64_t position, float* cos_out, float* sin_out) const {
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    double angle = static_cast<double>(position) * inv_freq_[i];
    cos_out[i] = static_cast<float>(std::cos(angle) * attention_factor_);
    sin_out[i] = static_cast<float>(std::sin(angle) * attention_factor_);
  }
}

void Rope::apply(float* x, const float* cos, const float* sin) const {
  const int half = dim_ / 2;
  for (int i = 0; i < half; ++i) {
    float* a = interleaved_ ? x + 2 * i : x + i;
    float* b = interleaved_ ? x + 2 * i + 1 : x + i + half;
    float x0 = *a, x1 = *b;
    *a = x0 * cos[i] - x1 * sin[i];
    *b = x0 * sin[i] + x1 * cos[i];
  }
}

}  // namespace dschat
