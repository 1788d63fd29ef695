#include "engine/deepseek/model_weights.h"

#include <algorithm>

#include "engine/deepseek/weight_binder.h"

namespace dschat {
namespace {

MlpWeights bind_mlp(WeightBinder& b, const std::string& prefix, int64_t hidden, int64_t intermediate) {
  MlpWeights m;
  m.gate_proj = b.matrix(prefix + "gate_proj.weight", intermediate, hidden);
  m.up_proj = b.matrix(prefix + "up_proj.weight", intermediate, hidden);
  m.down_proj = b.matrix(prefix + "down_proj.weight", hidden, intermediate);
  return m;
}

// Decoder layer `l` ("model.layers.l."): the main layers and the MTP modules' layers alike.
LayerWeights bind_layer(WeightBinder& b, const ModelConfig& c, int l, bool& any_mlx) {
  const int64_t hidden = c.hidden_size;
  const int64_t heads = c.num_attention_heads;
  const int64_t qk = c.qk_head_dim();
  const std::string p = "model.layers." + std::to_string(l) + ".";
  LayerWeights L;
  L.input_layernorm = b.vector(p + "input_layernorm.weight", hidden);
  L.post_attention_layernorm = b.vector(p + "post_attention_layernorm.weight", hidden);
  AttentionWeights& a = L.attention;
  const std::string ap = p + "self_attn.";
  if (c.q_lora_rank > 0) {
    a.q_a_proj = b.matrix(ap + "q_a_proj.weight", c.q_lora_rank, hidden);
    a.q_a_layernorm = b.vector(ap + "q_a_layernorm.weight", c.q_lora_rank);
    a.q_b_proj = b.matrix(ap + "q_b_proj.weight", heads * qk, c.q_lora_rank);
  } else {
    a.q_proj = b.matrix(ap + "q_proj.weight", heads * qk, hidden);
  }
  a.kv_a_proj_with_mqa = b.matrix(ap + "kv_a_proj_with_mqa.weight", int64_t{c.kv_lora_rank} + c.qk_rope_head_dim, hidden);
  a.kv_a_layernorm = b.vector(ap + "kv_a_layernorm.weight", c.kv_lora_rank);
  if (!b.find(ap + "kv_b_proj.weight") && b.find(ap + "k_b_proj.weight")) {  // GGUF's split (gguf_source.h)
    const int64_t kv_lora = c.kv_lora_rank, nope = c.qk_nope_head_dim, v = c.v_head_dim;
    const WeightMatrix k_b = b.stacked(ap + "k_b_proj.weight", heads, kv_lora, nope)[0];
    const WeightMatrix v_b = b.stacked(ap + "v_b_proj.weight", heads, v, kv_lora)[0];
    a.k_b_proj = {k_b.dtype, heads * kv_lora, nope, k_b.data};
    a.v_b_proj = {v_b.dtype, heads * v, kv_lora, v_b.data};
  } else {
    a.kv_b_proj = b.matrix(ap + "kv_b_proj.weight", heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank);
  }
  a.o_proj = b.matrix(ap + "o_proj.weight", hidden, heads * c.v_head_dim);

  L.is_moe = c.is_moe_layer(l);
  const std::string mp = p + "mlp.";
  if (!L.is_moe) {
    L.dense = bind_mlp(b, mp, hidden, c.intermediate_size);
    return L;
  }
  MoeWeights& m = L.moe;
  const int64_t experts = c.n_routed_experts;
  m.gate = b.matrix(mp + "gate.weight", experts, hidden);
  if (c.topk_method == TopkMethod::NoAuxTc) {
    m.e_score_correction_bias = b.vector(mp + "gate.e_score_correction_bias", experts);
  }
  const int64_t inter = c.moe_intermediate_size;
  if (b.find(mp + "switch_mlp.gate_proj.weight")) {  // MLX: stacked [E, out, in]
    any_mlx = true;
    auto gates = b.stacked(mp + "switch_mlp.gate_proj.weight", experts, inter, hidden);
    auto ups = b.stacked(mp + "switch_mlp.up_proj.weight", experts, inter, hidden);
    auto downs = b.stacked(mp + "switch_mlp.down_proj.weight", experts, hidden, inter);
    for (int64_t e = 0; e < experts; ++e) m.experts.push_back({gates[e], ups[e], downs[e]});
  } else {
    for (int64_t e = 0; e < experts; ++e) {
      m.experts.push_back(bind_mlp(b, mp + "experts." + std::to_string(e) + ".", hidden, inter));
    }
  }
  if (c.n_shared_experts > 0) {
    m.shared = bind_mlp(b, mp + "shared_experts.", hidden, inter * c.n_shared_experts);
    m.has_shared = true;
  }
  return L;
}

}  // namespace

bool is_mtp_or_cache(const std::string& name, int num_layers) {
  if (name.find("rotary_emb.inv_freq") != std::string::npos) return true;
  const std::string prefix = "model.layers.";
  if (name.rfind(prefix, 0) != 0) return false;
  size_t end = name.find('.', prefix.size());
  if (end == std::string::npos) return false;
  try {
    return std::stoll(name.substr(prefix.size(), end - prefix.size())) >= num_layers;
  } catch (...) {
    return false;
  }
}


void prefetch_weights(const std::vector<const TensorInfo*>& tensors, const LoadProgress& progress) {
  constexpr uint64_t kPiece = 8u << 20;       // bytes between progress reports
  constexpr uint64_t kReadAhead = 64u << 20;  // bytes asked from the disk ahead of the prefetch
  struct Piece {
    const std::byte* data;
    uint64_t bytes;
  };
  std::vector<const TensorInfo*> ordered(tensors.begin(), tensors.end());
  std::sort(ordered.begin(), ordered.end(), [](const TensorInfo* a, const TensorInfo* b) { return a->data < b->data; });
  std::vector<Piece> pieces;
  uint64_t total = 0;
  for (const TensorInfo* t : ordered) {
    total += t->nbytes;
    uint64_t offset = 0;
    do {
      const uint64_t bytes = std::min(kPiece, t->nbytes - offset);
      pieces.push_back({t->data + offset, bytes});
      offset += bytes;
    } while (offset < t->nbytes);
  }
  if (progress && !progress(0, total)) throw LoadCancelled();
  uint64_t done = 0, advised = 0;
  std::size_t next_advised = 0;
  for (const Piece& piece : pieces) {
    for (; next_advised < pieces.size() && advised < done + kReadAhead; ++next_advised) {
      advise_will_need(pieces[next_advised].data, pieces[next_advised].bytes);
      advised += pieces[next_advised].bytes;
    }
    prefetch_pages(piece.data, piece.bytes);
    done += piece.bytes;
    if (progress && !progress(done, total)) throw LoadCancelled();
  }
}

std::unique_ptr<ModelWeights> bind_model_weights(const ModelConfig& c, const TensorSource& tensors) {
  auto w = std::make_unique<ModelWeights>();
  WeightBinder b(tensors, *w);
  const int64_t hidden = c.hidden_size;

  w->embed_tokens = b.matrix("model.embed_tokens.weight", c.vocab_size, hidden);
  // Grown as the layers are found, never sized from config.json first: a num_hidden_layers of 3e6
  // allocated 2.3 GB of empty layers before the missing tensor of layer 5 was reported.
  bool any_mlx = false;
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    w->layers.push_back(bind_layer(b, c, l, any_mlx));
  }
  w->layout = any_mlx ? CheckpointLayout::Mlx : CheckpointLayout::HuggingFace;
  w->norm = b.vector("model.norm.weight", hidden);
  if (c.tie_word_embeddings) {
    w->lm_head = w->embed_tokens;
    if (tensors.find("lm_head.weight")) {
      b.require("lm_head.weight", {c.vocab_size, hidden});
      w->warnings.push_back("lm_head.weight is present but tie_word_embeddings is true: the embedding is used");
    }
  } else {
    w->lm_head = b.matrix("lm_head.weight", c.vocab_size, hidden);
  }

  // Multi-token-prediction modules (layers L.., official layout), when the checkpoint has them.
  for (int d = 0; d < c.num_nextn_predict_layers; ++d) {
    const int l = c.num_hidden_layers + d;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    if (!tensors.find(p + "eh_proj.weight")) break;  // declared but not stored (e.g. stripped)
    MtpWeights m;
    m.enorm = b.vector(p + "enorm.weight", hidden);
    m.hnorm = b.vector(p + "hnorm.weight", hidden);
    m.eh_proj = b.matrix(p + "eh_proj.weight", hidden, 2 * hidden);
    m.layer = bind_layer(b, c, l, any_mlx);
    m.head_norm = b.vector(p + "shared_head.norm.weight", hidden);
    m.head = tensors.find(p + "shared_head.head.weight") ? b.matrix(p + "shared_head.head.weight", c.vocab_size, hidden)
                                                         : w->lm_head;
    w->mtp.push_back(std::move(m));
  }

  b.finish([&](const std::string& name) { return is_mtp_or_cache(name, c.num_hidden_layers); });
  for (const std::string& warning : tensors.warnings()) w->warnings.push_back(warning);
  return w;
}

}  // namespace dschat
