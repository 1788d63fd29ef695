#include "engine/io/gguf_source.h"

#include <algorithm>
#include <array>
#include <utility>

#include "engine/io/model_error.h"

namespace dschat {
namespace {

// Per-block tensor names (gguf-py tensor_mapping.py / constants.py, MODEL_ARCH.DEEPSEEK2).
constexpr std::array<std::pair<const char*, const char*>, 30> kBlockNames = {{
    {"attn_norm.weight", "input_layernorm.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
    {"attn_k_b.weight", "self_attn.k_b_proj.weight"},
    {"attn_v_b.weight", "self_attn.v_b_proj.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
    {"exp_probs_b", "mlp.gate.e_score_correction_bias"},
    {"ffn_gate_exps.weight", "mlp.switch_mlp.gate_proj.weight"},
    {"ffn_up_exps.weight", "mlp.switch_mlp.up_proj.weight"},
    {"ffn_down_exps.weight", "mlp.switch_mlp.down_proj.weight"},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
    // MTP ("nextn") blocks: MODEL_TENSOR.NEXTN_* (constants.py, tensor_mapping.py).
    {"nextn.eh_proj.weight", "eh_proj.weight"},
    {"nextn.enorm.weight", "enorm.weight"},
    {"nextn.hnorm.weight", "hnorm.weight"},
    {"nextn.shared_head_norm.weight", "shared_head.norm.weight"},
    {"nextn.shared_head_head.weight", "shared_head.head.weight"},
    {"nextn.embed_tokens.weight", "embed_tokens.weight"},
}};

std::string supported_type_names() {
  std::string names;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlType* t = ggml_type(id);
    if (!t || !t->dtype || !(dtype_is_weight(*t->dtype) || dtype_is_block(*t->dtype))) continue;
    names += (names.empty() ? "" : ", ") + std::string(t->name);
  }
  return names;
}

}  // namespace

std::string gguf_hf_name(const std::string& name) {
  if (name == "token_embd.weight") return "model.embed_tokens.weight";
  if (name == "output_norm.weight") return "model.norm.weight";
  if (name == "output.weight") return "lm_head.weight";
  const std::string blk = "blk.";
  if (name.rfind(blk, 0) != 0) return name;
  const size_t dot = name.find('.', blk.size());
  if (dot == std::string::npos || dot == blk.size()) return name;
  const std::string layer = name.substr(blk.size(), dot - blk.size());
  if (!std::all_of(layer.begin(), layer.end(), [](char c) { return c >= '0' && c <= '9'; })) return name;
  const std::string rest = name.substr(dot + 1);
  for (const auto& [gguf, hf] : kBlockNames) {
    if (rest == gguf) return "model.layers." + layer + "." + hf;
  }
  return name;
}

GgufSource::GgufSource(const std::filesystem::path& path) : shards_(path) {
  infos_.reserve(shards_.tensors().size());
  for (const auto& [file, tensor] : shards_.tensors()) {
    const GgufTensor& g = *tensor;
    const std::string fname = file->path().string();
    if (!g.type->dtype) {
      throw ModelError(fname + ": tensor '" + g.name + "' has type " + g.type->name +
                       ", which dschat does not support (GGUF types that work: " + supported_type_names() + ")");
    }
    TensorInfo t;
    t.name = gguf_hf_name(g.name);
    t.file = fname;
    t.dtype = *g.type->dtype;
    t.shape.assign(g.ne.rbegin(), g.ne.rend());
    t.data = file->tensor_data(g);
    t.nbytes = g.nbytes;
    infos_.push_back(std::move(t));
  }
  for (const TensorInfo& t : infos_) {
    if (!by_name_.emplace(t.name, &t).second) {
      throw ModelError(t.file + ": two tensors are named '" + t.name + "' (as dschat names them)");
    }
    ordered_.push_back(&t);
  }
}

std::vector<const MappedFile*> GgufSource::mapped_files() const {
  std::vector<const MappedFile*> files;
  for (const auto& f : shards_.files()) files.push_back(&f->mapping());
  return files;
}

const TensorInfo* GgufSource::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace dschat
