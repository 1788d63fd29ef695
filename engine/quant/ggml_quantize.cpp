#include "engine/quant/ggml_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/half_float.h"
#include "engine/quant/nearest_int.h"

namespace dschat {

void quantize_row_q8_k(const float* x, BlockQ8_K* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const float* v = x + b * kSuperBlock;
    BlockQ8_K& q = out[b];
    float amax = 0;
    for (int i = 0; i < kSuperBlock; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float inv = amax != 0 ? 127.0f / amax : 0.0f;
    q.d = amax / 127.0f;
    for (int i = 0; i < kSuperBlock; ++i) q.qs[i] = static_cast<int8_t>(std::clamp(nearest_int(v[i] * inv), -127, 127));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += q.qs[16 * g + i];
      q.bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

}  // namespace dschat

namespace dschat {
namespace {

constexpr float kAllZero = 1e-15f;  // a group below this magnitude is all zero (ggml's GROUP_MAX_EPS)

// Codes and (scale, offset) of one sub-block for x ≈ scale·q − offset, q in [0, nmax], offset ≥ 0:
// a weighted least-squares search over nstep + 1 candidate scales (nmax + rmin + rdelta·k) /
// (max − min), each refitted, keeping the one of least weighted squared error. As in ggml, the
// range's origin `min` follows the best fit so far: later candidates are measured from it.
struct ScaleMin {
  float scale = 0, offset = 0;
};

ScaleMin fit_scale_min(const float* x, const float* w, int n, int nmax, float rmin, float rdelta, int nstep,
                       uint8_t* codes) {
  float min = x[0], max = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  min = std::min(min, 0.0f);  // the offset only ever lowers the range
  if (max == min) {
    std::fill(codes, codes + n, uint8_t{0});
    return {0.0f, -min};
  }
  auto code = [&](float inv, int i) { return static_cast<uint8_t>(std::clamp(nearest_int(inv * (x[i] - min)), 0, nmax)); };
  auto error = [&](float s, float m, const uint8_t* q) {
    float e = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = s * q[i] + m - x[i];
      e += w[i] * diff * diff;
    }
    return e;
  };
  float inv = nmax / (max - min), scale = 1 / inv;
  for (int i = 0; i < n; ++i) codes[i] = code(inv, i);
  float best = error(scale, min, codes);
  uint8_t trial[32];
  for (int k = 0; k <= nstep; ++k) {
    inv = (rmin + rdelta * k + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      trial[i] = code(inv, i);
      sum_l += w[i] * trial[i];
      sum_l2 += w[i] * trial[i] * trial[i];
      sum_xl += w[i] * trial[i] * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float s = (sum_w * sum_xl - sum_x * sum_l) / det, m = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (m > 0) {  // the fit wants to add: keep the offset at zero and refit the scale alone
      m = 0;
      s = sum_xl / sum_l2;
    }
    const float e = error(s, m, trial);
    if (e < best) {
      std::copy(trial, trial + n, codes);
      best = e;
      scale = s;
      min = m;
    }
  }
  return {scale, -min};
}

// Q4_K / Q5_K's scales and mins of one block: fitted per sub-block, quantized to 6 bits, packed;
// then the codes for the stored scales. Returns the codes of the 256 values in `codes`.
void quantize_k_block(const float* x, int nmax, float rmin, float rdelta, int nstep, uint16_t& d, uint16_t& dmin,
                      uint8_t* scales, uint8_t* codes) {
  ScaleMin fit[8];
  float max_scale = 0, max_offset = 0, w[32];
  for (int j = 0; j < 8; ++j) {
    const float* v = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += v[l] * v[l];
    const float rms = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = rms + std::fabs(v[l]);
    fit[j] = fit_scale_min(v, w, 32, nmax, rmin, rdelta, nstep, codes + 32 * j);
    max_scale = std::max(max_scale, fit[j].scale);
    max_offset = std::max(max_offset, fit[j].offset);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_offset = max_offset > 0 ? 63.0f / max_offset : 0.0f;
  std::fill(scales, scales + 12, uint8_t{0});
  for (int j = 0; j < 8; ++j) {
    const auto s = static_cast<uint8_t>(std::min(63, nearest_int(inv_scale * fit[j].scale)));
    const auto m = static_cast<uint8_t>(std::min(63, nearest_int(inv_offset * fit[j].offset)));
    if (j < 4) {  // layout: ggml_blocks.h k_scale_min
      scales[j] = s;
      scales[j + 4] = m;
    } else {
      scales[j + 4] = static_cast<uint8_t>((s & 0x0f) | (m & 0x0f) << 4);
      scales[j - 4] |= static_cast<uint8_t>((s >> 4) << 6);
      scales[j] |= static_cast<uint8_t>((m >> 4) << 6);
    }
  }
  d = f32_to_f16(max_scale / 63.0f);
  dmin = f32_to_f16(max_offset / 63.0f);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    k_scale_min(scales, j, s, m);
    const float ds = f16_to_f32(d) * s;
    if (ds == 0) continue;
    const float dm = f16_to_f32(dmin) * m;
    for (int l = 0; l < 32; ++l) {
      codes[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / ds), 0, nmax));
    }
  }
}

// One Q6_K sub-block's signed scale (x ≈ scale·q, q in [−32, 31]): the candidate of the largest
// weighted fit (Σ w·x·q)² / Σ w·q², w = x², over scales max/−(32 + 0.1k), k = −9..9; its codes
// q + 32 in `codes` (kept where the stored scale rounds to 0, as ggml does: they widen to 0).
float fit_signed_scale(const float* x, int n, uint8_t* codes) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kAllZero) {
    std::fill(codes, codes + n, uint8_t{0});
    return 0.0f;
  }
  auto code = [&](float inv, int i) { return std::clamp(nearest_int(inv * x[i]), -32, 31); };
  auto fit = [&](float inv, float& sum_xl, float& sum_l2) {
    sum_xl = sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(inv, i);
      const float w = x[i] * x[i];
      sum_xl += w * x[i] * l;
      sum_l2 += w * l * l;
    }
  };
  float sum_xl, sum_l2, inv = -32.0f / max;
  fit(inv, sum_xl, sum_l2);
  float scale = sum_l2 > 0 ? sum_xl / sum_l2 : 0.0f, best = scale * sum_xl, best_inv = inv;
  for (int k = -9; k <= 9; ++k) {
    if (k == 0) continue;
    inv = -(32.0f + 0.1f * k) / max;
    fit(inv, sum_xl, sum_l2);
    if (sum_l2 > 0 && sum_xl * sum_xl > best * sum_l2) {
      scale = sum_xl / sum_l2;
      best = scale * sum_xl;
      best_inv = inv;
    }
  }
  for (int i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>(code(best_inv, i) + 32);
  return scale;
}

}  // namespace

void quantize_row_q4_k(const float* x, BlockQ4_K* out, int64_t n) {
  uint8_t codes[kSuperBlock];
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    BlockQ4_K& q = out[b];
    quantize_k_block(x + b * kSuperBlock, 15, -1.0f, 0.1f, 20, q.d, q.dmin, q.scales, codes);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) q.qs[32 * c + l] = static_cast<uint8_t>(codes[64 * c + l] | codes[64 * c + 32 + l] << 4);
    }
  }
}

void quantize_row_q5_k(const float* x, BlockQ5_K* out, int64_t n) {
  uint8_t codes[kSuperBlock];
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    BlockQ5_K& q = out[b];
    quantize_k_block(x + b * kSuperBlock, 31, -0.5f, 0.1f, 15, q.d, q.dmin, q.scales, codes);
    std::fill(q.qh, q.qh + 32, uint8_t{0});
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = codes[64 * c + l], hi = codes[64 * c + 32 + l];
        q.qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | (hi & 0x0f) << 4);
        q.qh[l] |= static_cast<uint8_t>((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
      }
    }
  }
}

void quantize_row_q6_k(const float* x, BlockQ6_K* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const float* v = x + b * kSuperBlock;
    BlockQ6_K& q = out[b];
    float scales[16], max_scale = 0, max_abs = 0;
    uint8_t codes[kSuperBlock];  // stored q + 32
    for (int j = 0; j < 16; ++j) {
      scales[j] = fit_signed_scale(v + 16 * j, 16, codes + 16 * j);
      if (std::fabs(scales[j]) > max_abs) {
        max_abs = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    std::memset(&q, 0, sizeof q);
    if (max_abs < kAllZero) continue;  // d = 0: every value widens to 0
    const float inv = -128.0f / max_scale;
    q.d = f32_to_f16(1 / inv);
    for (int j = 0; j < 16; ++j) q.scales[j] = static_cast<int8_t>(std::min(127, nearest_int(inv * scales[j])));
    for (int j = 0; j < 16; ++j) {
      const float d = f16_to_f32(q.d) * q.scales[j];
      if (d == 0) continue;
      for (int i = 0; i < 16; ++i) codes[16 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int(v[16 * j + i] / d), -32, 31) + 32);
    }
    for (int half = 0; half < 2; ++half) {  // layout: ggml_blocks.h BlockQ6_K
      const uint8_t* c = codes + 128 * half;
      for (int l = 0; l < 32; ++l) {
        q.ql[64 * half + l] = static_cast<uint8_t>((c[l] & 0x0f) | (c[l + 64] & 0x0f) << 4);
        q.ql[64 * half + 32 + l] = static_cast<uint8_t>((c[l + 32] & 0x0f) | (c[l + 96] & 0x0f) << 4);
        q.qh[32 * half + l] = static_cast<uint8_t>(c[l] >> 4 | (c[l + 32] >> 4) << 2 | (c[l + 64] >> 4) << 4 | (c[l + 96] >> 4) << 6);
      }
    }
  }
}

}  // namespace dschat

namespace dschat {
namespace {

// The five-bit codes of 32 values into qs (low nibbles: values 0-15 | 16-31 high) and qh.
template <typename Block>
void pack_q5(const uint8_t (&q)[32], Block& b) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    b.qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(b.qh, &qh, sizeof qh);
}

}  // namespace

void quantize_row_q5_0(const float* x, BlockQ5_0* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>(std::min<int>(31, static_cast<int8_t>(v[j] * id + 16.5f)));
    pack_q5(q, out[b]);
  }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* out, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + b * 32;
    float min = v[0], max = v[0];
    for (int j = 1; j < 32; ++j) {
      min = std::min(min, v[j]);
      max = std::max(max, v[j]);
    }
    const float d = (max - min) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    out[b].m = f32_to_f16(min);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) q[j] = static_cast<uint8_t>((v[j] - min) * id + 0.5f);
    pack_q5(q, out[b]);
  }
}

}  // namespace dschat
