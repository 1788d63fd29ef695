// Decoupled rotary position embedding of MLA (q_pe and the shared k_pe), with optional YaRN
// context extension (Peng et al. 2023) as DeepSeek's modeling code implements it:
//   inv_freq_i = θ^(-2i/d) blended with θ^(-2i/d)/factor by a linear ramp over the correction
//   range [floor(low), ceil(high)] (from beta_fast, beta_slow, original_max_position_embeddings),
//   cos and sin scaled by get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim),
//   softmax scale multiplied by get_mscale(factor, mscale_all_dim)² (when mscale_all_dim != 0),
//   get_mscale(s, m) = 0.1·m·ln(s) + 1 for s > 1, else 1.
// Pair layout: interleaved (2i, 2i+1) as in DeepSeek's checkpoints, or rotate-half (i, i+d/2).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/deepseek/model_config.h"

namespace dschat {

double yarn_get_mscale(double scale, double mscale);

class Rope {
 public:
  explicit Rope(const ModelConfig& config);

  int dim() const { return dim_; }
  const std::vector<double>& inv_freq() const { return inv_freq_; }
  double attention_factor() const { return attention_factor_; }  // multiplies cos and sin
  double softmax_scale() const { return softmax_scale_; }        // 1/sqrt(qk_head_dim) · mscale²

  // cos and sin (times attention_factor) of each pair's angle at `position`; dim/2 values each.
  void angles(int64_t position, float* cos_out, float* sin_out) const;
  // Rotates x[0..dim) in place with angles from angles().
  void apply(float* x, const float* cos, const float* sin) const;

 private:
  int dim_;
  bool interleaved_;
  std::vector<double> inv_freq_;
  double attention_factor_ = 1.0;
  double softmax_scale_ = 1.0;
};

}  // namespace dschat
