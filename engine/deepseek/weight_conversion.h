// Converts the bound weight matrices to the run-time type asked for in LoadOptions (F32, BF16,
// Q8_0, Q4_0) from whatever dtype the checkpoint holds. The converted matrices are the only
// copies made; each source tensor's pages are released once converted, so the resident set holds
// about one copy of the weights. Router matrices stay as stored (routing runs in float32, as in
// llama.cpp), and a matrix whose input width is not a multiple of 32 cannot be block-quantized:
// it becomes BF16 instead.
#pragma once

#include <cstdint>

#include "engine/model.h"
#include "engine/deepseek/model_weights.h"

namespace dschat {

// `body` applies to attention and MLP/expert matrices, `output` to embed_tokens and lm_head
// (Native keeps a matrix as stored). Reports progress in source bytes converted (or paged in,
// for matrices kept as stored) out of all bound bytes, converting rows on `threads` threads
// (0: all). With `repack`, matrices whose type the kernels run faster interleaved
// (weight_kernels.h `repacked`: Q4_0 on AVX2) take that layout: converted ones as they are
// written, stored ones copied (only when the model fits in the available memory, the file's
// pages released). Returns the bytes of weights as held.
uint64_t convert_model_weights(ModelWeights& weights, WeightType body, WeightType output, const LoadProgress& progress,
                               int threads, bool repack);

}  // namespace dschat
