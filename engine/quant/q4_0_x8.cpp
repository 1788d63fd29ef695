#include "engine/quant/q4_0_x8.h"

#include <cstring>

namespace dschat {

void interleave_q4_0_rows(const BlockQ4_0* const rows[kQ4_0x8Rows], int64_t blocks, std::byte* group) {
  for (int64_t b = 0; b < blocks; ++b) {
    std::byte* out = group + static_cast<size_t>(b) * kQ4_0x8BlockBytes;
    for (int64_t r = 0; r < kQ4_0x8Rows; ++r) {
      const BlockQ4_0& in = rows[r][b];
      std::memcpy(out + 2 * r, &in.d, sizeof in.d);
      for (int k = 0; k < 4; ++k) std::memcpy(out + 16 + 32 * k + 4 * r, in.qs + 4 * k, 4);
    }
  }
}

void q4_0_x8_row(const std::byte* group, int64_t lane, int64_t blocks, BlockQ4_0* out) {
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* in = group + static_cast<size_t>(b) * kQ4_0x8BlockBytes;
    std::memcpy(&out[b].d, in + 2 * lane, sizeof out[b].d);
    for (int k = 0; k < 4; ++k) std::memcpy(out[b].qs + 4 * k, in + 16 + 32 * k + 4 * lane, 4);
  }
}

}  // namespace dschat
