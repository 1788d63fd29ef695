// The K-quant GEMV of ggml_gemv_body.h for the AVX-512 level (F/BW/VL/VNNI, 256-bit vectors):
// the scale multiply-accumulate is one vpdpwssd (int16 pairs × scales added to int32) where AVX2
// needs vpmaddwd + vpaddd.
#include "engine/ops/ggml_gemv.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#define KQ_TARGET DSCHAT_AVX512
#define KQ_TOKENS 2  // tokens per pass of the K-quant prefill loop (16 / 32 vector registers)
#define KQ_VNNI 1
#include "engine/ops/ggml_gemv_body.h"

namespace dschat {

GemvKernel ggml_gemv_avx512(DType type) {
  switch (type) {
    case DType::Q4_K:
      return kq_gemv<KqQ45<false>, 4>;
    case DType::Q5_K:
      return kq_gemv<KqQ45<true>, 4>;
    case DType::Q6_K:
      return kq_gemv<KqQ6, 4>;
    case DType::Q5_0:
      return q5_0_gemv<4>;
    default:
      return nullptr;
  }
}

}  // namespace dschat
#endif
