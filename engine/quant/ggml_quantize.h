// Float rows to the GGUF block types of ggml_blocks.h. Q8_K is the activation form of the
// 256-value types' integer dot products (engine/ops/ggml_dot.h): per 256 values d = max|x|/127
// (float), q = round(x / d), and the sums of each 16 q.
#pragma once

#include <cstdint>

#include "engine/quant/ggml_blocks.h"

namespace dschat {

// n a multiple of kSuperBlock.
void quantize_row_q8_k(const float* x, BlockQ8_K* out, int64_t n);

}  // namespace dschat
