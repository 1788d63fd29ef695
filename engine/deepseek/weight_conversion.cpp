#include "engine/deepseek/weight_conversion.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "common/system_memory.h"
#include "engine/quant/half_float.h"
#include "engine/ops/matmul.h"
#include "engine/quant/q4_0_x8.h"
#include "engine/quant/quantize.h"
#include "engine/ops/thread_pool.h"

namespace dschat {
namespace {

DType target_dtype(WeightType type, const WeightMatrix& w) {
  switch (type) {
    case WeightType::Native: return w.dtype;
    case WeightType::F32: return DType::F32;
    case WeightType::BF16: return DType::BF16;
    case WeightType::Q8_0: return w.cols % kQuantBlock == 0 ? DType::Q8_0 : DType::BF16;
    case WeightType::Q4_0: return w.cols % kQuantBlock == 0 ? DType::Q4_0 : DType::BF16;
  }
  return w.dtype;
}

// Drops the resident pages that lie wholly inside [data, data + bytes) of a read-only mapping
// (they are never read again; reading them would only page them back in).
void release_pages(const std::byte* data, uint64_t bytes) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// The interleaved layout the level's GEMV prefers for a matrix held as `dtype` (Q4_0 -> Q4_0_X8
// on AVX2; weight_kernels.h `repacked`), or `dtype` itself.
DType kernel_layout(DType dtype, const WeightMatrix& w) {
  const DType repacked = weight_kernels(dtype).repacked;
  if (repacked == DType::F32 || w.rows % dtype_interleaved_rows(repacked) != 0) return dtype;
  return repacked;
}

class Converter {
 public:
  Converter(ModelWeights& weights, const LoadProgress& progress, uint64_t total, int threads, bool repack)
      : weights_(weights), progress_(progress), total_(total), pool_(threads), repack_(repack) {
    // Repacking a mapped matrix copies it into memory the kernel cannot page out: only when the
    // whole model fits (a model larger than RAM keeps paging from its file, in the file's layout).
    const uint64_t available = available_memory_bytes();
    repack_mapped_ = repack && available > 0 && total + total / 4 < available;
  }

  // `interleave`: the matrix may take an interleaved layout (its users slice it at kRowBlock).
  void convert(WeightMatrix& w, WeightType type, bool interleave = true) {
    if (w.empty()) return;
    if (auto it = done_.find(w.data); it != done_.end() && it->second.rows == w.rows) {
      w = it->second;  // tied embeddings / lm_head: one conversion
      return;
    }
    const std::byte* source = w.data;
    const uint64_t source_bytes = w.bytes();
    const bool owned_source = is_owned(source);
    DType to = target_dtype(type, w);
    if (repack_ && interleave && (to != w.dtype || owned_source || repack_mapped_)) to = kernel_layout(to, w);
    WeightMatrix out{to, w.rows, w.cols, nullptr};
    if (to == w.dtype) {
      touch(w);
      out = w;
    } else {
      weights_.owned.emplace_back(out.bytes());
      std::byte* dst = weights_.owned.back().data();
      out.data = dst;
      const int64_t group = dtype_interleaved_rows(to);
      const DType row_type = to == DType::Q4_0_X8 ? DType::Q4_0 : to;  // the rows before interleaving
      const size_t row_bytes = out.row_bytes();
      // Stored Q4_0 rows are interleaved as they are (no re-quantization); others are made first.
      const bool stored = w.dtype == row_type;
      pool_.parallel_for(w.rows / group, std::max<int64_t>(1, 64 / group), [&](int64_t g0, int64_t g1) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        std::vector<std::byte> rows(group > 1 ? group * row_bytes : 0);  // a group's rows before interleaving
        for (int64_t g = g0; g < g1; ++g) {
          for (int64_t i = 0; i < group && !stored; ++i) {
            const int64_t r = g * group + i;
            std::byte* o = group > 1 ? rows.data() + i * row_bytes : dst + static_cast<size_t>(r) * row_bytes;
            weight_row_to_f32(w, r, row.data());
            switch (row_type) {
              case DType::F32: std::memcpy(o, row.data(), row_bytes); break;
              case DType::BF16: {
                auto* h = reinterpret_cast<uint16_t*>(o);
                for (int64_t c = 0; c < w.cols; ++c) h[c] = f32_to_bf16(row[c]);
                break;
              }
              case DType::Q8_0: quantize_row_q8_0(row.data(), reinterpret_cast<BlockQ8_0*>(o), w.cols); break;
              case DType::Q4_0: quantize_row_q4_0(row.data(), reinterpret_cast<BlockQ4_0*>(o), w.cols); break;
              default: break;
            }
          }
          if (to == DType::Q4_0_X8) {
            const BlockQ4_0* group_rows[kQ4_0x8Rows];
            for (int64_t i = 0; i < kQ4_0x8Rows; ++i) {
              group_rows[i] = reinterpret_cast<const BlockQ4_0*>(stored ? w.row(g * group + i) : rows.data() + i * row_bytes);
            }
            interleave_q4_0_rows(group_rows, w.cols / kQuantBlock, dst + static_cast<size_t>(g * group) * row_bytes);
          }
        }
      });
      if (!owned_source) release_pages(source, source_bytes);
    }
    done_[source] = out;
    held_ += out.bytes();
    advance(source_bytes);
    w = out;
  }

  void advance(uint64_t bytes) {
    done_bytes_ = std::min(total_, done_bytes_ + bytes);
    if (progress_ && !progress_(done_bytes_, total_)) throw LoadCancelled();
  }

  uint64_t held() const { return held_; }

 private:
  static void touch(const WeightMatrix& w) {
    volatile unsigned char sink = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(w.data);
    unsigned char acc = 0;
    for (uint64_t i = 0; i < w.bytes(); i += 4096) acc ^= p[i];
    sink = sink ^ acc;
    (void)sink;
  }

  bool is_owned(const std::byte* p) const {
    for (const auto& buffer : weights_.owned) {
      if (p >= buffer.data() && p < buffer.data() + buffer.size()) return true;
    }
    return false;
  }

  ModelWeights& weights_;
  const LoadProgress& progress_;
  uint64_t total_;
  uint64_t done_bytes_ = 0;
  uint64_t held_ = 0;
  std::map<const std::byte*, WeightMatrix> done_;
  ThreadPool pool_;
  bool repack_;
  bool repack_mapped_ = false;
};

void convert_mlp(Converter& c, MlpWeights& m, WeightType type) {
  c.convert(m.gate_proj, type);
  c.convert(m.up_proj, type);
  c.convert(m.down_proj, type);
}

void convert_layer(Converter& c, LayerWeights& layer, WeightType body) {
  AttentionWeights& a = layer.attention;
  for (WeightMatrix* m : {&a.q_a_proj, &a.q_b_proj, &a.q_proj, &a.kv_a_proj_with_mqa, &a.o_proj}) c.convert(*m, body);
  // Read per head and per row by the absorbed attention (mla_attention.cpp): row-major.
  for (WeightMatrix* m : {&a.kv_b_proj, &a.k_b_proj, &a.v_b_proj, &a.k_rope_from_latent}) {
    c.convert(*m, body, /*interleave=*/false);
  }
  if (layer.is_moe) {
    c.convert(layer.moe.gate, WeightType::Native);
    for (MlpWeights& e : layer.moe.experts) convert_mlp(c, e, body);
    if (layer.moe.has_shared) convert_mlp(c, layer.moe.shared, body);
  } else {
    convert_mlp(c, layer.dense, body);
  }
}

}  // namespace

uint64_t convert_model_weights(ModelWeights& weights, WeightType body, WeightType output, const LoadProgress& progress,
                               int threads, bool repack) {
  uint64_t total = 0;
  for (const TensorInfo* t : weights.used) total += t->nbytes;
  if (progress && !progress(0, total)) throw LoadCancelled();
  Converter c(weights, progress, total, threads, repack);
  c.convert(weights.lm_head, output);
  c.convert(weights.embed_tokens, output, /*interleave=*/false);  // tied: lm_head's conversion, its layout
  c.convert(weights.position_embeddings, WeightType::Native);
  for (LayerWeights& layer : weights.layers) convert_layer(c, layer, body);
  // The MTP modules convert like the main layers; their head is lm_head's conversion when tied
  // (the same source bytes: one conversion, see Converter::convert).
  for (MtpWeights& m : weights.mtp) {
    c.convert(m.eh_proj, body);
    convert_layer(c, m.layer, body);
    c.convert(m.head, output);
  }
  c.advance(total);  // norms and biases were read at binding
  return c.held();
}

}  // namespace dschat
