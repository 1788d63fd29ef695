// The deepseek2 GGUF export (engine/gguf_export.h). Keys: llama.cpp conversion/deepseek.py
// DeepseekV2Model.set_gguf_parameters and conversion/base.py (the same keys
// gguf_model_config.cpp reads back). Types: llama-quantize's llama_tensor_get_type for the
// file types listed (src/llama-quant.cpp), without an importance matrix.
#include "engine/gguf_export.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <thread>

#include "engine/deepseek/deepseek_model.h"
#include "engine/io/gguf_writer.h"
#include "engine/quant/ggml_blocks.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"

namespace dschat {
namespace {

// ggml type ids (ggml.h enum ggml_type).
constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ4_K = 12, kQ5_K = 13,
                   kQ6_K = 14, kBF16 = 30;

struct FileTypeInfo {
  GgufFileType type;
  const char* option;
  const char* name;
  uint32_t ftype;  // general.file_type (llama_ftype)
  uint32_t base;   // the type most matrices get
};
constexpr FileTypeInfo kFileTypes[] = {
    {GgufFileType::Q8_0, "q8_0", "Q8_0", 7, kQ8_0},       {GgufFileType::Q4_0, "q4_0", "Q4_0", 2, kQ4_0},
    {GgufFileType::Q4_K_M, "q4_k_m", "Q4_K_M", 15, kQ4_K}, {GgufFileType::Q5_K_M, "q5_k_m", "Q5_K_M", 17, kQ5_K},
    {GgufFileType::Q6_K, "q6_k", "Q6_K", 18, kQ6_K},       {GgufFileType::BF16, "bf16", "BF16", 32, kBF16},
    {GgufFileType::F16, "f16", "F16", 1, kF16},           {GgufFileType::F32, "f32", "F32", 0, kF32},
};
const FileTypeInfo& info_of(GgufFileType t) {
  for (const FileTypeInfo& i : kFileTypes) {
    if (i.type == t) return i;
  }
  return kFileTypes[0];
}

const GgmlType& gtype(uint32_t id) { return *ggml_type(id); }

// One tensor of the file: its rows (ne[0] values each, ne[1]·ne[2] rows) as floats, or as the
// stored bytes when the stored type is the target's.
struct ExportTensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = kF32;
  enum class Kind { Matrix, Vector, KFromKvB, VFromKvB } kind = Kind::Matrix;
  std::vector<WeightMatrix> pieces;  // Matrix: stacked in order (experts); K/VFromKvB: kv_b_proj
  const std::vector<float>* vector = nullptr;
  int64_t heads = 0, nope = 0, v = 0, kv_lora = 0;

  int64_t rows() const {
    int64_t r = 1;
    for (size_t d = 1; d < ne.size(); ++d) r *= static_cast<int64_t>(ne[d]);
    return r;
  }
  DType source_dtype() const { return kind == Kind::Vector ? DType::F32 : pieces.front().dtype; }
  bool raw_rows() const {  // rows copied as stored
    if (kind == Kind::Vector) return type == kF32;
    if (kind == Kind::KFromKvB) return false;
    const std::optional<uint32_t> id = ggml_type_id(pieces.front().dtype);
    return id && *id == type && pieces.front().scales.data == nullptr;
  }
  const std::byte* raw_row(int64_t r) const {
    if (kind == Kind::Vector) return reinterpret_cast<const std::byte*>(vector->data());
    if (kind == Kind::VFromKvB) return pieces[0].row((r / v) * (nope + v) + nope + r % v);
    const int64_t per = pieces[0].rows;
    return pieces[static_cast<size_t>(r / per)].row(r % per);
  }
  // Row r as floats; `scratch` holds a widened head of kv_b for KFromKvB (kept across rows).
  void row(int64_t r, float* out, std::vector<float>& scratch, int64_t& scratch_head) const {
    switch (kind) {
      case Kind::Vector: std::copy(vector->begin(), vector->end(), out); return;
      case Kind::Matrix: {
        const int64_t per = pieces[0].rows;
        weight_row_to_f32(pieces[static_cast<size_t>(r / per)], r % per, out);
        return;
      }
      case Kind::VFromKvB: weight_row_to_f32(pieces[0], (r / v) * (nope + v) + nope + r % v, out); return;
      case Kind::KFromKvB: {
        // attn_k_b[h][c][j] = kv_b[h·(nope+v) + j][c]: W_UK of head h transposed.
        const int64_t h = r / kv_lora, c = r % kv_lora;
        if (scratch_head != h) {
          scratch.resize(static_cast<size_t>(nope * kv_lora));
          for (int64_t j = 0; j < nope; ++j) weight_row_to_f32(pieces[0], h * (nope + v) + j, scratch.data() + j * kv_lora);
          scratch_head = h;
        }
        for (int64_t j = 0; j < nope; ++j) out[j] = scratch[static_cast<size_t>(j * kv_lora + c)];
        return;
      }
    }
  }
};

// Float rows -> `type` bytes.
void encode_rows(uint32_t type, const float* x, int64_t rows, int64_t n, std::byte* out) {
  const size_t row_bytes = static_cast<size_t>(n / gtype(type).block.weights) * gtype(type).block.bytes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = x + r * n;
    std::byte* o = out + static_cast<size_t>(r) * row_bytes;
    switch (type) {
      case kF32: std::memcpy(o, v, static_cast<size_t>(n) * 4); break;
      case kF16:
        for (int64_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(o)[i] = f32_to_f16(v[i]);
        break;
      case kBF16:
        for (int64_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(o)[i] = f32_to_bf16(v[i]);
        break;
      case kQ8_0: quantize_row_q8_0(v, reinterpret_cast<BlockQ8_0*>(o), n); break;
      case kQ4_0: quantize_row_q4_0(v, reinterpret_cast<BlockQ4_0*>(o), n); break;
      case kQ5_0: quantize_row_q5_0(v, reinterpret_cast<BlockQ5_0*>(o), n); break;
      case kQ5_1: quantize_row_q5_1(v, reinterpret_cast<BlockQ5_1*>(o), n); break;
      case kQ4_K: quantize_row_q4_k(v, reinterpret_cast<BlockQ4_K*>(o), n); break;
      case kQ5_K: quantize_row_q5_k(v, reinterpret_cast<BlockQ5_K*>(o), n); break;
      case kQ6_K: quantize_row_q6_k(v, reinterpret_cast<BlockQ6_K*>(o), n); break;
      default: throw ModelError(std::string("gguf export: no encoder for ") + gtype(type).name);
    }
  }
}

// llama-quantize's use_more_bits (the layers of ffn_down / attn_v that get more bits in _M mixes).
bool use_more_bits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

// tensor_type_fallback: rows that are not whole blocks of `type`.
uint32_t fallback(uint32_t type, uint64_t ne0) {
  if (ne0 % static_cast<uint64_t>(gtype(type).block.weights) == 0) return type;
  uint32_t t = type;
  switch (type) {
    case kQ4_K: t = kQ5_0; break;
    case kQ5_K: t = kQ5_1; break;
    case kQ6_K: t = kQ8_0; break;
    default: t = kF16;  // Q8_0 / Q4_0 rows not of 32 (llama-quantize stops; see docs/engine.md)
  }
  if (ne0 % static_cast<uint64_t>(gtype(t).block.weights) != 0) t = kF16;
  return t;
}

// The type of a matrix tensor under `ft` (llama_tensor_get_type_impl, no imatrix, n_expert != 8).
uint32_t matrix_type(const FileTypeInfo& ft, const std::string& name, uint64_t ne0, int layer, int layers, bool output) {
  uint32_t t = ft.base;
  const bool quantized = t != kF32 && t != kF16 && t != kBF16;
  if (!quantized) return t;
  if (output) {
    // OUTPUT (and a tied TOKEN_EMBD): Q8_0 when rows are not whole blocks of the base type, Q6_K
    // unless the base is Q8_0.
    if (ne0 % static_cast<uint64_t>(gtype(t).block.weights) != 0) return kQ8_0;
    return fallback(t == kQ8_0 ? kQ8_0 : kQ6_K, ne0);
  }
  if (name.find("ffn_down") != std::string::npos && layer >= 0 &&
      (ft.type == GgufFileType::Q4_K_M || ft.type == GgufFileType::Q5_K_M) && use_more_bits(layer, layers)) {
    t = kQ6_K;
  }
  return fallback(t, ne0);
}

const DeepSeekModel& deepseek(const Model& model) {
  const auto* m = dynamic_cast<const DeepSeekModel*>(&model);
  if (!m) throw ModelError("gguf export: not a DeepSeek model");
  return *m;
}

// The same matrix, or a copy of it (DeepSeek-V3 stores shared_head.head, equal to lm_head).
bool same_weights(const WeightMatrix& a, const WeightMatrix& b) {
  if (a.data == b.data) return true;
  return a.dtype == b.dtype && a.rows == b.rows && a.cols == b.cols && a.scales.empty() && b.scales.empty() &&
         std::memcmp(a.data, b.data, static_cast<size_t>(a.bytes())) == 0;
}

// The MTP modules the file can hold: V3's wiring (eh_proj over [enorm(emb) ; hnorm(h)], no bias,
// shared_head.norm), all or none.
int exported_mtp_modules(const DeepSeekModel& m) {
  for (const MtpWeights& mtp : m.weights().mtp) {
    if (mtp.hidden_first || !mtp.eh_bias.empty() || mtp.head_norm.empty()) return 0;
  }
  return static_cast<int>(m.weights().mtp.size());
}

}  // namespace

std::optional<GgufFileType> parse_gguf_file_type(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const FileTypeInfo& i : kFileTypes) {
    if (lower == i.option) return i.type;
  }
  return std::nullopt;
}
const char* gguf_file_type_name(GgufFileType type) { return info_of(type).name; }
const char* gguf_file_type_names() { return "q8_0|q4_0|q4_k_m|q5_k_m|q6_k|bf16|f16|f32"; }

std::vector<std::string> gguf_export_notices(const Model& model, const GgufExportOptions& options) {
  const ModelConfig& c = model.config();
  const std::string who = "cannot write " + model.name() + " as GGUF deepseek2: ";
  auto refuse = [&](const std::string& why) { throw ModelError(who + why); };
  if (c.rms_norm_form != RmsNormForm::RsqrtMeanSquare) refuse("its RMSNorm divides by (rms + eps), llama.cpp's is x·rsqrt(mean(x²) + eps)");
  if (!c.q_latent_norm) refuse("its query latent is not normalised (deepseek2 always applies attn_q_a_norm)");
  if (c.rotary_key_source != RotaryKeySource::SharedFromKvA) refuse("its rotary keys are per head (deepseek2 has one k_pe shared by all heads)");
  if (c.learned_position_embeddings) refuse("it has learned position embeddings (deepseek2 has only RoPE)");
  if (c.o_proj_bias || c.mlp_bias || c.attention_bias) refuse("it has biases on its projections (deepseek2 has none)");
  if (c.router_kind != RouterKind::DeepSeek) refuse("its router takes the softmax of the biased top-k logits (deepseek2's routers are DeepSeek's)");
  if (c.expert_kind != ExpertKind::SwiGLU) refuse("its experts have no gate projection (deepseek2's are SwiGLU)");
  if (c.shared_expert_intermediate_size != 0 && c.shared_expert_intermediate_size != c.moe_intermediate_size * c.n_shared_experts) {
    refuse("its shared experts are not n_shared_experts × moe_intermediate_size wide");
  }
  if (!c.rope_interleave) refuse("its RoPE rotates halves (deepseek2 rotates adjacent pairs)");
  if (c.moe_layer_freq != 1) refuse("moe_layer_freq is " + std::to_string(c.moe_layer_freq) + " (deepseek2: every layer after the dense ones is MoE)");
  if (c.hidden_act != "silu") refuse("hidden_act is '" + c.hidden_act + "' (deepseek2: silu)");
  if (c.rope_scaling && std::fabs(c.rope_scaling->mscale - c.rope_scaling->mscale_all_dim) > 1e-9) {
    refuse("its YaRN mscale differs from mscale_all_dim (the file stores only yarn_log_multiplier = 0.1·mscale_all_dim)");
  }
  std::vector<std::string> notices;
  const int stored_mtp = static_cast<int>(deepseek(model).weights().mtp.size());
  const int kept_mtp = options.mtp ? exported_mtp_modules(deepseek(model)) : 0;
  if (kept_mtp > 0) {
    notices.push_back(std::to_string(kept_mtp) +
                      " multi-token-prediction module(s) kept as nextn layers (deepseek2.nextn_predict_layers); "
                      "llama.cpp's deepseek2 loader does not read that key and refuses the file (\"wrong number of tensors\"): leave out --keep-mtp for llama.cpp");
  } else if (stored_mtp > 0) {
    notices.push_back(std::to_string(stored_mtp) + " multi-token-prediction module(s) dropped" +
                      (options.mtp ? " (wired as the .pt head is: deepseek2's nextn layers cannot express it)"
                                   : " (llama.cpp's deepseek2 loader refuses them; --keep-mtp keeps them for dschat)"));
  }
  if (c.topk_method == TopkMethod::GroupLimitedGreedy) {
    notices.push_back("group-limited routing: llama.cpp ranks groups by their top-2 sum, DeepSeek-V2 by their maximum "
                      "(dschat reads the file back with V2's rule)");
  }
  if (std::fabs(c.latent_norm_eps - c.rms_norm_eps) > 1e-6 * c.rms_norm_eps) {
    notices.push_back("the latent norms' epsilon " + std::to_string(c.latent_norm_eps) + " becomes the layers' " +
                      std::to_string(c.rms_norm_eps) + " (deepseek2 has one epsilon)");
  }
  if (c.q_lora_rank == 0 && c.num_hidden_layers != 27) {
    notices.push_back("no q_lora: llama.cpp loads a deepseek2 file without q_lora_rank only with 27 layers "
                      "(V2-Lite's); dschat reads it at any depth");
  }
  return notices;
}

GgufExportSummary export_gguf(const Model& model, const std::filesystem::path& out, const GgufExportOptions& options) {
  const DeepSeekModel& m = deepseek(model);
  const ModelConfig& c = m.config();
  const ModelWeights& w = m.weights();
  GgufExportSummary summary;
  summary.notices = gguf_export_notices(model, options);
  const FileTypeInfo& ft = info_of(options.type);

  // Tensors.
  std::vector<ExportTensor> tensors;
  const int mtp_modules = options.mtp ? exported_mtp_modules(m) : 0;
  // Blocks as llama-quantize counts them (every ffn_down of the file, the modules' too).
  const int layers = c.num_hidden_layers + mtp_modules;
  auto matrix = [&](const std::string& name, std::vector<WeightMatrix> pieces, int layer, bool output = false,
                    bool router = false) {
    ExportTensor t;
    t.name = name;
    t.ne = {static_cast<uint64_t>(pieces[0].cols), static_cast<uint64_t>(pieces[0].rows)};
    if (pieces.size() > 1) t.ne.push_back(pieces.size());
    t.pieces = std::move(pieces);
    t.type = router ? kF32 : matrix_type(ft, name, t.ne[0], layer, layers, output);
    tensors.push_back(std::move(t));
  };
  auto vec = [&](const std::string& name, const std::vector<float>& v) {
    ExportTensor t;
    t.name = name;
    t.kind = ExportTensor::Kind::Vector;
    t.ne = {v.size()};
    t.vector = &v;
    t.type = kF32;
    tensors.push_back(std::move(t));
  };
  // One decoder block blk.l (a main layer or an MTP module's layer).
  auto block = [&](int l, const LayerWeights& L) {
    const AttentionWeights& a = L.attention;
    const std::string b = "blk." + std::to_string(l) + ".";
    vec(b + "attn_norm.weight", L.input_layernorm);
    if (c.q_lora_rank > 0) {
      matrix(b + "attn_q_a.weight", {a.q_a_proj}, l);
      vec(b + "attn_q_a_norm.weight", a.q_a_layernorm);
      matrix(b + "attn_q_b.weight", {a.q_b_proj}, l);
    } else {
      matrix(b + "attn_q.weight", {a.q_proj}, l);
    }
    matrix(b + "attn_kv_a_mqa.weight", {a.kv_a_proj_with_mqa}, l);
    vec(b + "attn_kv_a_norm.weight", a.kv_a_layernorm);
    const int64_t heads = c.num_attention_heads, nope = c.qk_nope_head_dim, v = c.v_head_dim, r = c.kv_lora_rank;
    if (!a.kv_b_proj.empty()) {
      for (auto kind : {ExportTensor::Kind::KFromKvB, ExportTensor::Kind::VFromKvB}) {
        ExportTensor t;
        t.kind = kind;
        t.pieces = {a.kv_b_proj};
        t.heads = heads, t.nope = nope, t.v = v, t.kv_lora = r;
        const bool k = kind == ExportTensor::Kind::KFromKvB;
        t.name = b + (k ? "attn_k_b.weight" : "attn_v_b.weight");
        t.ne = k ? std::vector<uint64_t>{uint64_t(nope), uint64_t(r), uint64_t(heads)}
                 : std::vector<uint64_t>{uint64_t(r), uint64_t(v), uint64_t(heads)};
        t.type = matrix_type(ft, t.name, t.ne[0], l, layers, false);
        tensors.push_back(std::move(t));
      }
    } else {
      matrix(b + "attn_k_b.weight", {a.k_b_proj}, l);
      tensors.back().ne = {uint64_t(nope), uint64_t(r), uint64_t(heads)};
      matrix(b + "attn_v_b.weight", {a.v_b_proj}, l);
      tensors.back().ne = {uint64_t(r), uint64_t(v), uint64_t(heads)};
    }
    matrix(b + "attn_output.weight", {a.o_proj}, l);
    vec(b + "ffn_norm.weight", L.post_attention_layernorm);
    if (!L.is_moe) {
      matrix(b + "ffn_gate.weight", {L.dense.gate_proj}, l);
      matrix(b + "ffn_up.weight", {L.dense.up_proj}, l);
      matrix(b + "ffn_down.weight", {L.dense.down_proj}, l);
      return;
    }
    const MoeWeights& moe = L.moe;
    matrix(b + "ffn_gate_inp.weight", {moe.gate}, l, false, true);
    if (!moe.e_score_correction_bias.empty()) vec(b + "exp_probs_b.bias", moe.e_score_correction_bias);
    std::vector<WeightMatrix> gate, up, down;
    for (const MlpWeights& e : moe.experts) {
      gate.push_back(e.gate_proj);
      up.push_back(e.up_proj);
      down.push_back(e.down_proj);
    }
    matrix(b + "ffn_gate_exps.weight", gate, l);
    matrix(b + "ffn_up_exps.weight", up, l);
    matrix(b + "ffn_down_exps.weight", down, l);
    if (moe.has_shared) {
      matrix(b + "ffn_gate_shexp.weight", {moe.shared.gate_proj}, l);
      matrix(b + "ffn_up_shexp.weight", {moe.shared.up_proj}, l);
      matrix(b + "ffn_down_shexp.weight", {moe.shared.down_proj}, l);
    }
  };
  matrix("token_embd.weight", {w.embed_tokens}, -1, c.tie_word_embeddings);
  for (int l = 0; l < c.num_hidden_layers; ++l) block(l, w.layers[static_cast<size_t>(l)]);
  // MTP modules as llama.cpp's converters keep them (conversion/glm.py Glm4MoeModel: blocks after
  // the main ones, gguf-py constants.py NEXTN_*): the module's decoder layer under blk.l, and
  // blk.l.nextn.{eh_proj,enorm,hnorm,shared_head_norm}; the embedding and the head it shares are
  // not written again (nextn.embed_tokens / nextn.shared_head_head are optional in llama.cpp's
  // loader, src/models/glm4-moe.cpp), a head of its own is written as nextn.shared_head_head.
  for (int d = 0; d < mtp_modules; ++d) {
    const MtpWeights& mtp = w.mtp[static_cast<size_t>(d)];
    const int l = c.num_hidden_layers + d;
    const std::string b = "blk." + std::to_string(l) + ".nextn.";
    block(l, mtp.layer);
    matrix(b + "eh_proj.weight", {mtp.eh_proj}, l);
    vec(b + "enorm.weight", mtp.enorm);
    vec(b + "hnorm.weight", mtp.hnorm);
    vec(b + "shared_head_norm.weight", mtp.head_norm);
    if (!same_weights(mtp.head, w.lm_head)) matrix(b + "shared_head_head.weight", {mtp.head}, -1, true);
  }
  vec("output_norm.weight", w.norm);
  if (!c.tie_word_embeddings) matrix("output.weight", {w.lm_head}, -1, true);
  for (const ExportTensor& t : tensors) {
    if (t.kind == ExportTensor::Kind::Matrix && t.pieces[0].empty()) throw ModelError("gguf export: " + t.name + " has no weights");
  }

  // Metadata.
  GgufWriter writer(out);
  const std::string a = "deepseek2.";
  auto u32 = [](int v) { return gguf_u32(static_cast<uint32_t>(v)); };
  auto f32 = [](double v) { return gguf_f32(static_cast<float>(v)); };
  writer.add_metadata("general.architecture", gguf_string("deepseek2"));
  writer.add_metadata("general.type", gguf_string("model"));
  writer.add_metadata("general.name", gguf_string(m.name()));
  writer.add_metadata(a + "block_count", u32(c.num_hidden_layers + mtp_modules));
  if (mtp_modules > 0) writer.add_metadata(a + "nextn_predict_layers", u32(mtp_modules));
  writer.add_metadata(a + "context_length", u32(c.max_position_embeddings));
  writer.add_metadata(a + "embedding_length", u32(c.hidden_size));
  writer.add_metadata(a + "feed_forward_length", u32(c.intermediate_size));
  writer.add_metadata(a + "attention.head_count", u32(c.num_attention_heads));
  writer.add_metadata(a + "attention.head_count_kv", u32(1));  // MLA run as MQA (the converter's choice)
  writer.add_metadata(a + "rope.freq_base", f32(c.rope_theta));
  writer.add_metadata(a + "attention.layer_norm_rms_epsilon", f32(c.rms_norm_eps));
  if (c.n_routed_experts > 0) {
    writer.add_metadata(a + "expert_count", u32(c.n_routed_experts));
    writer.add_metadata(a + "expert_used_count", u32(c.num_experts_per_tok));
  }
  writer.add_metadata(a + "expert_group_count", u32(c.n_group));
  writer.add_metadata(a + "expert_group_used_count", u32(c.topk_group));
  writer.add_metadata(a + "expert_gating_func", u32(c.scoring_func == ScoringFunc::Sigmoid ? 2 : 1));
  writer.add_metadata("general.file_type", gguf_u32(ft.ftype));
  writer.add_metadata(a + "leading_dense_block_count",
                      u32(c.n_routed_experts > 0 ? std::min(c.first_k_dense_replace, c.num_hidden_layers) : c.num_hidden_layers));
  writer.add_metadata(a + "vocab_size", u32(c.vocab_size));
  if (c.q_lora_rank > 0) writer.add_metadata(a + "attention.q_lora_rank", u32(c.q_lora_rank));
  writer.add_metadata(a + "attention.kv_lora_rank", u32(c.kv_lora_rank));
  writer.add_metadata(a + "attention.key_length", u32(c.kv_lora_rank + c.qk_rope_head_dim));
  writer.add_metadata(a + "attention.value_length", u32(c.kv_lora_rank));
  writer.add_metadata(a + "attention.key_length_mla", u32(c.qk_nope_head_dim + c.qk_rope_head_dim));
  writer.add_metadata(a + "attention.value_length_mla", u32(c.v_head_dim));
  writer.add_metadata(a + "expert_feed_forward_length", u32(c.n_routed_experts > 0 ? c.moe_intermediate_size : c.intermediate_size));
  writer.add_metadata(a + "expert_shared_count", u32(c.n_routed_experts > 0 ? c.n_shared_experts : 0));
  writer.add_metadata(a + "expert_weights_scale", f32(c.routed_scaling_factor));
  if (c.norm_topk_prob) writer.add_metadata(a + "expert_weights_norm", gguf_bool(true));
  writer.add_metadata(a + "rope.dimension_count", u32(c.qk_rope_head_dim));
  if (c.rope_scaling) {
    const RopeScaling& y = *c.rope_scaling;
    writer.add_metadata(a + "rope.scaling.type", gguf_string("yarn"));
    writer.add_metadata(a + "rope.scaling.factor", f32(y.factor));
    writer.add_metadata(a + "rope.scaling.original_context_length", u32(y.original_max_position_embeddings));
    writer.add_metadata(a + "rope.scaling.yarn_beta_fast", f32(y.beta_fast));
    writer.add_metadata(a + "rope.scaling.yarn_beta_slow", f32(y.beta_slow));
    // [TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]: 0.1 · mscale_all_dim (gguf_model_config.cpp reads it so).
    writer.add_metadata(a + "rope.scaling.yarn_log_multiplier", f32(0.1 * y.mscale_all_dim));
  }
  writer.add_metadata("general.quantization_version", gguf_u32(2));  // the converter writes it for every type
  for (const auto& [k, v] : options.tokenizer) writer.add_metadata(k, v);
  for (const ExportTensor& t : tensors) writer.add_tensor(t.name, t.ne, gtype(t.type));
  writer.write_header();

  // Data, tensor by tensor, in chunks of rows quantized on `threads` threads.
  const uint64_t total = writer.data_bytes();
  uint64_t done = 0;
  if (options.progress && !options.progress(0, total)) throw LoadCancelled();
  const int threads = std::max(1, options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::byte> chunk;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ExportTensor& t = tensors[i];
    const int64_t n = static_cast<int64_t>(t.ne[0]), rows = t.rows();
    const size_t row_bytes = static_cast<size_t>(writer.tensor_bytes(i) / static_cast<uint64_t>(rows));
    if (t.raw_rows()) {
      for (int64_t r = 0; r < rows; ++r) writer.write_data(t.raw_row(r), row_bytes);
    } else {
      // About 8 MiB of floats per chunk; each thread a run of rows (KFromKvB keeps a head widened).
      const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{8} << 20) / (4 * n));
      chunk.resize(static_cast<size_t>(std::min(chunk_rows, rows)) * row_bytes);
      for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
        const int64_t count = std::min(chunk_rows, rows - r0);
        const int64_t parts = std::min<int64_t>(threads, count);
        std::vector<std::thread> pool;
        std::vector<std::string> errors(static_cast<size_t>(parts));
        auto work = [&](int64_t p) {
          try {
            const int64_t a0 = r0 + count * p / parts, a1 = r0 + count * (p + 1) / parts;
            std::vector<float> rowf(static_cast<size_t>(n)), scratch;
            int64_t head = -1;
            for (int64_t r = a0; r < a1; ++r) {
              t.row(r, rowf.data(), scratch, head);
              encode_rows(t.type, rowf.data(), 1, n, chunk.data() + static_cast<size_t>(r - r0) * row_bytes);
            }
          } catch (const std::exception& e) {
            errors[static_cast<size_t>(p)] = e.what();
          }
        };
        for (int64_t p = 1; p < parts; ++p) pool.emplace_back(work, p);
        work(0);
        for (std::thread& th : pool) th.join();
        for (const std::string& e : errors) {
          if (!e.empty()) throw ModelError(e);
        }
        writer.write_data(chunk.data(), static_cast<size_t>(count) * row_bytes);
        if (options.progress && !options.progress(done + static_cast<uint64_t>(r0 + count) * row_bytes, total)) {
          throw LoadCancelled();
        }
      }
    }
    done += (writer.tensor_bytes(i) + GgufWriter::kAlignment - 1) / GgufWriter::kAlignment * GgufWriter::kAlignment;
    if (options.progress && !options.progress(std::min(done, total), total)) throw LoadCancelled();
    const std::string tname = gtype(t.type).name;
    auto it = std::find_if(summary.types.begin(), summary.types.end(), [&](const auto& x) { return x.type == tname; });
    if (it == summary.types.end()) it = summary.types.insert(summary.types.end(), {tname, 0, 0});
    ++it->tensors;
    it->bytes += writer.tensor_bytes(i);
  }
  writer.commit();
  summary.tensor_count = tensors.size();
  std::error_code ec;
  summary.file_bytes = std::filesystem::file_size(out, ec);
  return summary;
}

}  // namespace dschat
