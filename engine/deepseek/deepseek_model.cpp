#include "engine/deepseek/deepseek_model.h"
#include "common/system_memory.h"
#include "engine/deepseek/nonfinite_weights.h"
#include "engine/deepseek/weight_conversion.h"
#include "engine/ops/weight_kernels.h"
#include "engine/io/mapped_file.h"
#include "engine/io/gguf_source.h"
#include "engine/io/safetensors_source.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace dschat {
namespace {

std::string human_bytes(uint64_t bytes) {
  std::ostringstream s;
  s.precision(1);
  s << std::fixed;
  if (bytes >= (1ull << 30)) {
    s << bytes / double(1ull << 30) << " GiB";
  } else if (bytes >= (1ull << 20)) {
    s << bytes / double(1ull << 20) << " MiB";
  } else if (bytes >= 1024) {
    s << bytes / 1024.0 << " KiB";
  } else {
    s << bytes << " B";
  }
  return s.str();
}

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The file's own view: format, architecture, every tensor's type (all of them, not only those
// bound), and the tokenizer it carries.
std::string describe_gguf(const GgufShards& shards) {
  const GgufFile& f = shards.first();
  std::ostringstream s;
  auto text = [&](const std::string& key) {
    const GgufValue* v = f.find(key);
    return v && v->type == GgufType::String ? v->string_value : std::string("?");
  };
  s << "layout: GGUF v" << f.version() << ", architecture " << text("general.architecture") << ", "
    << shards.tensors().size() << " tensors, alignment " << f.alignment();
  if (shards.files().size() > 1) s << ", " << shards.files().size() << " shards";
  s << "\n";
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  for (const auto& [file, t] : shards.tensors()) {
    auto& entry = by_type[t->type->name];
    entry.first += 1;
    entry.second += t->nbytes;
  }
  s << "quant mix:";
  for (const auto& [name, entry] : by_type) s << " " << name << " (" << entry.first << " tensors, " << human_bytes(entry.second) << ")";
  s << "\n";
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  const GgufValue* merges = f.find("tokenizer.ggml.merges");
  s << "tokenizer: " << text("tokenizer.ggml.model") << ", pre-tokenizer " << text("tokenizer.ggml.pre") << ", "
    << (tokens ? tokens->array_size() : 0) << " tokens, " << (merges ? merges->array_size() : 0) << " merges"
    << (f.find("tokenizer.chat_template") ? ", chat template" : "") << "\n";
  return s.str();
}

}  // namespace

ParameterCounts count_parameters(const ModelConfig& c) {
  ParameterCounts p;
  const uint64_t H = c.hidden_size, heads = c.num_attention_heads, qk = c.qk_head_dim();
  const uint64_t rope = c.qk_rope_head_dim, kv_lora = c.kv_lora_rank;
  p.embedding = uint64_t(c.vocab_size) * H + (c.learned_position_embeddings ? uint64_t(c.max_position_embeddings) * H : 0);
  p.lm_head = c.tie_word_embeddings ? 0 : uint64_t(c.vocab_size) * H;
  p.norms = H;  // final norm
  // One expert of `inter` hidden units: SwiGLU has gate, up, down; SiluMlp up, down; plus biases.
  auto expert_size = [&](uint64_t inter) {
    const bool gated = c.expert_kind == ExpertKind::SwiGLU;
    return (gated ? 3 : 2) * H * inter + (c.mlp_bias ? (gated ? 2 : 1) * inter + H : 0);
  };
  uint64_t unused_routed = 0;
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    uint64_t q = c.q_lora_rank > 0 ? H * c.q_lora_rank + uint64_t(c.q_lora_rank) * heads * qk : H * heads * qk;
    // Rotary key rows: one shared k_pe (V3) or one per head, from x (kv_a rows) or from the latent.
    const uint64_t rope_rows = rope * c.rotary_key_heads();
    const bool from_latent = c.rotary_key_source == RotaryKeySource::PerHeadFromLatent;
    p.attention += q + H * (kv_lora + (from_latent ? 0 : rope_rows)) + (from_latent ? kv_lora * rope_rows : 0) +
                   kv_lora * heads * (c.qk_nope_head_dim + c.v_head_dim) + heads * c.v_head_dim * H +
                   (c.o_proj_bias ? H : 0);
    p.norms += 2 * H + kv_lora + (c.q_lora_rank > 0 && c.q_latent_norm ? c.q_lora_rank : 0);
    if (c.is_moe_layer(l)) {
      const uint64_t expert = expert_size(c.moe_intermediate_size);
      p.routers += uint64_t(c.n_routed_experts) * H + (c.topk_method == TopkMethod::NoAuxTc ? c.n_routed_experts : 0);
      p.routed_experts += expert * c.n_routed_experts;
      p.shared_experts += c.shared_expert_intermediate_size > 0 ? expert_size(c.shared_expert_intermediate_size)
                                                                : expert * c.n_shared_experts;
      unused_routed += expert * (c.n_routed_experts - c.num_experts_per_tok);
    } else {
      p.dense_mlp += 3 * H * c.intermediate_size;
    }
  }
  p.active_per_token = p.total() - unused_routed;
  return p;
}

std::unique_ptr<DeepSeekModel> DeepSeekModel::load_directory(const std::filesystem::path& dir,
                                                             const LoadOptions& options) {
  const std::filesystem::path config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) throw ModelError(dir.string() + ": no config.json in the model directory");
  auto model = std::unique_ptr<DeepSeekModel>(new DeepSeekModel());
  model->config_ = load_model_config(config_path);
  model->path_ = dir;
  std::filesystem::path clean = dir.lexically_normal();
  model->name_ = clean.has_filename() ? clean.filename().string() : clean.parent_path().filename().string();
  model->source_ = SafetensorsSource::open_directory(dir);
  model->bind_weights(options);
  return model;
}

std::unique_ptr<DeepSeekModel> DeepSeekModel::load_gguf(const std::filesystem::path& file, const LoadOptions& options) {
  auto model = std::unique_ptr<DeepSeekModel>(new DeepSeekModel());
  auto source = std::make_unique<GgufSource>(file);
  model->config_ = gguf_model_config(source->gguf());
  model->path_ = file;
  const GgufValue* general_name = source->gguf().first().find("general.name");  // what the file says it is
  model->name_ = general_name && general_name->type == GgufType::String && !general_name->string_value.empty()
                     ? general_name->string_value
                     : file.stem().string();
  model->source_ = std::move(source);
  model->bind_weights(options);
  return model;
}

void DeepSeekModel::bind_weights(const LoadOptions& options) {
  weights_ = bind_model_weights(config_, *source_);
  // A stored type the kernels run faster in another layout (Q4_0 on AVX2) is repacked at load.
  const bool repack = options.repack && std::any_of(weights_->used.begin(), weights_->used.end(), [](const TensorInfo* t) {
    return weight_kernels(t->dtype).repacked != DType::F32;
  });
  if (options.weight_type == WeightType::Native && options.output_weight_type == WeightType::Native && !repack) {
    prefetch_weights(weights_->used, options.progress);  // 100% = paged in, ready
  } else {  // --type / --type-output: converted copies replace the mapped views (weight_conversion.h)
    converted_bytes_ = convert_model_weights(*weights_, options.weight_type, options.output_weight_type,
                                             options.progress, options.threads, options.repack);
  }
  rope_ = std::make_unique<Rope>(config_);
  pool_ = std::make_unique<ThreadPool>(options.threads);
}

std::string DeepSeekModel::weight_residence() const {
  if (converted_bytes_ > 0) return " (converted or repacked at load, in memory)";
  const uint64_t ram = physical_memory_bytes();
  if (ram == 0 || weight_bytes() <= ram) return " (memory-mapped)";
  return " (memory-mapped; larger than the " + human_bytes(ram) +
         " of RAM: they will page from disk as they are read, so each token waits for the disk)";
}

uint64_t DeepSeekModel::weight_bytes() const {
  if (converted_bytes_ > 0) return converted_bytes_;
  uint64_t total = 0;
  for (const TensorInfo* t : weights_->used) total += t->nbytes;
  return total;
}

uint64_t DeepSeekModel::decode_weight_bytes() const {
  const ModelWeights& w = weights();
  const auto mlp = [](const MlpWeights& m) { return m.gate_proj.bytes() + m.up_proj.bytes() + m.down_proj.bytes(); };
  // The head reads all its rows; the embedding one row (all of it when it is the head).
  const bool tied = w.lm_head.data == w.embed_tokens.data;
  uint64_t total = w.lm_head.bytes() + (tied ? 0 : w.embed_tokens.row_bytes());
  for (const LayerWeights& l : w.layers) {
    const AttentionWeights& a = l.attention;
    for (const WeightMatrix* m : {&a.q_a_proj, &a.q_b_proj, &a.q_proj, &a.kv_a_proj_with_mqa, &a.kv_b_proj, &a.k_b_proj,
                                  &a.v_b_proj, &a.o_proj, &a.k_rope_from_latent}) {
      total += m->bytes();
    }
    if (!l.is_moe) {
      total += mlp(l.dense);
      continue;
    }
    total += l.moe.gate.bytes() + (l.moe.has_shared ? mlp(l.moe.shared) : 0);
    // num_experts_per_tok of the routed experts, at their mean size (mixes may differ per expert).
    uint64_t experts = 0;
    for (const MlpWeights& e : l.moe.experts) experts += mlp(e);
    if (!l.moe.experts.empty()) experts = experts * static_cast<uint64_t>(config_.num_experts_per_tok) / l.moe.experts.size();
    total += experts;
  }
  return total;
}

// The model's own files only (those of its TensorSource), not every mapping of the process.
std::string DeepSeekModel::files_changed() const { return source_->changed().value_or(""); }

bool DeepSeekModel::has_mtp_module() const { return !weights().mtp.empty(); }

std::string model_files_changed_since_start() { return MappedFile::change_description(/*since_start=*/true); }

std::vector<std::string> DeepSeekModel::nonfinite_weight_warnings() const {
  return dschat::nonfinite_weight_warnings(path_, config_.num_hidden_layers);
}

std::string DeepSeekModel::describe() const {
  const ModelConfig& c = config_;
  std::ostringstream s;
  s << "model: " << name_ << " (" << path_.string() << ")\n";
  if (!pt_variant_.empty()) {
    s << "layout: PyTorch .pt (" << pt_variant_ << "), " << source_->tensors().size() << " tensors\n";
  } else if (const auto* gguf = dynamic_cast<const GgufSource*>(source_.get())) {
    s << describe_gguf(gguf->gguf());
  } else {
    s << "layout: " << (weights_->layout == CheckpointLayout::Mlx ? "MLX (stacked experts)" : "Hugging Face") << ", "
      << source_->files().size() << " file(s)\n";
  }
  s << "architecture: " << c.model_type << ", " << c.num_hidden_layers << " layers, hidden " << c.hidden_size
    << ", vocab " << c.vocab_size << "\n";
  s << "attention: MLA, " << c.num_attention_heads << " heads, q_lora_rank "
    << (c.q_lora_rank > 0 ? std::to_string(c.q_lora_rank) : std::string("none (full-rank q_proj)")) << ", kv_lora_rank "
    << c.kv_lora_rank << ", head dims nope " << c.qk_nope_head_dim << " + rope " << c.qk_rope_head_dim << ", v "
    << c.v_head_dim << "\n";
  s << "rope: theta " << c.rope_theta << ", " << (c.rope_interleave ? "interleaved pairs" : "rotate-half");
  if (c.rope_scaling) {
    s << ", YaRN factor " << c.rope_scaling->factor << " (original context " << c.rope_scaling->original_max_position_embeddings
      << ", beta_fast " << c.rope_scaling->beta_fast << ", beta_slow " << c.rope_scaling->beta_slow << ", mscale "
      << c.rope_scaling->mscale << ", mscale_all_dim " << c.rope_scaling->mscale_all_dim << ")";
  }
  s << "; context " << c.max_position_embeddings << "\n";
  int moe_layers = 0;
  for (int l = 0; l < c.num_hidden_layers; ++l) moe_layers += c.is_moe_layer(l);
  s << "feed-forward: " << c.num_hidden_layers - moe_layers << " dense (intermediate " << c.intermediate_size << "), "
    << moe_layers << " MoE";
  if (moe_layers) {
    const char* method = c.topk_method == TopkMethod::NoAuxTc ? "noaux_tc"
                         : c.topk_method == TopkMethod::GroupLimitedGreedy ? "group_limited_greedy" : "greedy";
    s << " (" << c.n_routed_experts << " routed experts, top-" << c.num_experts_per_tok << ", " << c.n_shared_experts
      << " shared, intermediate " << c.moe_intermediate_size << "; router "
      << (c.scoring_func == ScoringFunc::Sigmoid ? "sigmoid" : "softmax") << " " << method << ", groups " << c.n_group
      << "/" << c.topk_group << ", norm_topk_prob " << (c.norm_topk_prob ? "true" : "false") << ", scaling "
      << c.routed_scaling_factor << ")";
  }
  s << "\n";
  ParameterCounts p = count_parameters(c);
  s << "parameters: " << with_commas(p.total()) << " total, " << with_commas(p.active_per_token) << " active per token\n";
  s << "  embedding " << with_commas(p.embedding) << ", lm_head "
    << (c.tie_word_embeddings ? std::string("tied") : with_commas(p.lm_head)) << ", attention " << with_commas(p.attention)
    << ", dense mlp " << with_commas(p.dense_mlp) << ", routers " << with_commas(p.routers) << ", routed experts "
    << with_commas(p.routed_experts) << ", shared experts " << with_commas(p.shared_experts) << ", norms "
    << with_commas(p.norms) << "\n";
  std::map<std::string, std::pair<int, uint64_t>> by_dtype;
  for (const TensorInfo* t : weights_->used) {
    auto& entry = by_dtype[dtype_name(t->dtype)];
    entry.first += 1;
    entry.second += t->nbytes;
  }
  s << "dtypes:";
  for (const auto& [name, entry] : by_dtype) s << " " << name << " (" << entry.first << " tensors, " << human_bytes(entry.second) << ")";
  s << "\n";
  if (c.fp8_block_scales || by_dtype.count("F8_E4M3")) {
    int fp8 = 0;
    for (const TensorInfo* t : weights_->used) fp8 += t->dtype == DType::F8_E4M3;
    s << "weight type: FP8 e4m3 (128x128 blocks): " << fp8
      << " matrices with F32 weight_scale_inv per block, used in place; activations in float\n";
  }
  const uint64_t kv_per_token = latent_cache_bytes_per_token(c, CacheType::F32);
  s << "memory: weights " << human_bytes(weight_bytes()) << weight_residence() << ", latent KV cache "
    << human_bytes(kv_per_token) << " per token (" << human_bytes(kv_per_token * c.max_position_embeddings)
    << " for the full context of " << c.max_position_embeddings << ")\n";
  s << "latent KV cache per token by --cache-type:";
  for (CacheType type : {CacheType::F32, CacheType::BF16, CacheType::FP8, CacheType::Q8_0}) {
    if (type == CacheType::Q8_0 && c.kv_lora_rank % 32 != 0) continue;  // refused for this model
    s << " " << cache_type_name(type) << " " << human_bytes(latent_cache_bytes_per_token(c, type));
  }
  s << "\n";
  if (!weights_->mtp.empty()) {
    // Parameters of the modules' own tensors (model.layers.L..), the shared embedding and head excluded.
    uint64_t own = 0;
    const bool pt = !pt_variant_.empty();  // the .pt's heads are mtp_heads.N
    for (const TensorInfo* t : weights_->used) {
      if (pt ? t->name.starts_with("mtp_heads.") : is_mtp_or_cache(t->name, c.num_hidden_layers)) {
        own += static_cast<uint64_t>(t->element_count());
      }
    }
    const bool shared_head = weights_->mtp[0].head.data == weights_->lm_head.data;
    const size_t n = weights_->mtp.size();
    s << "multi-token prediction: " << n << " module(s) ("
      << (pt ? "mtp_heads.0.." + std::to_string(n - 1)
             : "layers " + std::to_string(c.num_hidden_layers) + ".." + std::to_string(c.num_hidden_layers + n - 1))
      << "), " << with_commas(own) << " parameters of their own, head "
      << (shared_head ? "shared with lm_head" : "own") << "; drafts for speculative decoding (--draft N)\n";
  }
  if (!weights_->ignored.empty()) {
    s << "ignored: " << weights_->ignored.size() << " tensors of multi-token-prediction layers or rotary caches\n";
  }
  s << "threads: " << pool_->size() << "\n";
  if (weights_->warnings.empty()) {
    s << "warnings: none\n";
  } else {
    s << "warnings:\n";
    for (const std::string& w : weights_->warnings) s << "  " << w << "\n";
  }
  return s.str();
}

}  // namespace dschat
