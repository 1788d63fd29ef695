// Writes a loaded model as a GGUF file of llama.cpp's architecture `deepseek2` (`dschat convert`):
// the metadata keys, tensor names and layouts llama.cpp's convert_hf_to_gguf.py writes
// (conversion/deepseek.py: experts stacked into ffn_*_exps [E, out, in], kv_b_proj split into
// attn_k_b = W_UKᵀ per head and attn_v_b; MTP modules as nextn blocks after the main
// ones, as conversion/glm.py keeps GLM-4.5's, unless GgufExportOptions::mtp is false) and the per-tensor types
// llama-quantize chooses for the file type (src/llama-quant.cpp; docs/engine.md "Writing GGUF"
// says where dschat differs). The caller gives the tokenizer's keys (tokenizer.ggml.*,
// tokenizer.chat_template): the engine knows nothing of tokenizers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/gguf_file.h"
#include "engine/model.h"

namespace dschat {

enum class GgufFileType { F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K };

// "f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k" (case-insensitive); else nullopt.
std::optional<GgufFileType> parse_gguf_file_type(const std::string& name);
const char* gguf_file_type_name(GgufFileType type);  // "Q4_K_M", ...
const char* gguf_file_type_names();                  // "q8_0|q4_0|q4_k_m|q5_k_m|q6_k|bf16|f16|f32"

struct GgufExportOptions {
  GgufFileType type = GgufFileType::Q8_0;
  std::vector<std::pair<std::string, GgufValue>> tokenizer;  // written after the model's keys
  // Bytes of tensor data written out of all; return false to cancel (LoadCancelled is thrown and
  // no file is left).
  std::function<bool(uint64_t done, uint64_t total)> progress;
  int threads = 0;  // quantizing rows (0: all hardware threads)
  bool mtp = false;  // write the MTP modules (blk.L.. with nextn.*, deepseek2.nextn_predict_layers)
};

struct GgufExportSummary {
  struct TypeCount {
    std::string type;  // ggml name: "Q4_K", "F32", ...
    int tensors = 0;
    uint64_t bytes = 0;
  };
  std::vector<TypeCount> types;  // in order of first use
  size_t tensor_count = 0;
  uint64_t file_bytes = 0;
  std::vector<std::string> notices;  // what was kept, dropped or differs (MTP modules, fallbacks)
};

// The notices that `model` would get, and a ModelError when deepseek2 cannot express its math
// (some from-scratch .pt variants): checked before anything is written.
std::vector<std::string> gguf_export_notices(const Model& model, const GgufExportOptions& options = {});

// Writes `model` (loaded with WeightType::Native: the weights as stored) to `out`, through a
// temporary file renamed at the end (engine/io/gguf_writer.h). Throws ModelError.
GgufExportSummary export_gguf(const Model& model, const std::filesystem::path& out, const GgufExportOptions& options);

}  // namespace dschat
