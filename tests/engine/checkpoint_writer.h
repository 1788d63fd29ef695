// Test helpers: write safetensors files (well-formed or deliberately broken) and small random
// DeepSeek-V3 model directories, in a fresh temporary directory per test.
#pragma once

#include <cstdint>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "engine/quant/half_float.h"
#include "engine/io/tensor.h"

namespace dschat::test {

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("dschat_engine_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct TestTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<float> values;  // element_count values, stored converted to dtype
};

inline std::vector<std::byte> encode(const TestTensor& t) {
  std::vector<std::byte> out(t.values.size() * dtype_size(t.dtype));
  for (size_t i = 0; i < t.values.size(); ++i) {
    if (t.dtype == DType::F32) {
      std::memcpy(out.data() + 4 * i, &t.values[i], 4);
    } else {
      uint16_t h = t.dtype == DType::BF16 ? f32_to_bf16(t.values[i]) : f32_to_f16(t.values[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  }
  return out;
}

// Writes 8-byte little-endian `header_length` (default: the header's size), the header, the data.
inline void write_raw_safetensors(const std::filesystem::path& path, const std::string& header,
                                  const std::vector<std::byte>& data, int64_t header_length = -1) {
  uint64_t n = header_length < 0 ? header.size() : static_cast<uint64_t>(header_length);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline void write_safetensors(const std::filesystem::path& path, const std::vector<TestTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<std::byte> data;
  for (const TestTensor& t : tensors) {
    std::vector<std::byte> bytes = encode(t);
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data region 8-byte aligned
  write_raw_safetensors(path, text, data);
}

// A small DeepSeek-V3 config; tests override keys.
inline nlohmann::json small_config() {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 96}, {"hidden_size", 32}, {"intermediate_size", 40},
          {"moe_intermediate_size", 12}, {"num_hidden_layers", 3}, {"num_attention_heads", 3},
          {"num_key_value_heads", 3}, {"n_shared_experts", 1}, {"n_routed_experts", 8},
          {"routed_scaling_factor", 2.5}, {"kv_lora_rank", 16}, {"q_lora_rank", 24}, {"qk_rope_head_dim", 8},
          {"v_head_dim", 10}, {"qk_nope_head_dim", 12}, {"n_group", 4}, {"topk_group", 2},
          {"num_experts_per_tok", 3}, {"first_k_dense_replace", 1}, {"moe_layer_freq", 1},
          {"norm_topk_prob", true}, {"scoring_func", "sigmoid"}, {"topk_method", "noaux_tc"},
          {"hidden_act", "silu"}, {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000.0}, {"rope_scaling", nullptr}, {"tie_word_embeddings", false}};
}

struct RandomModelOptions {
  DType dtype = DType::F32;
  bool mlx_layout = false;
  bool with_mtp_layer = false;      // adds model.layers.{L}.* (expected and ignored)
  uint32_t seed = 1;
};

// Tensors for `config` (Hugging Face names unless mlx_layout), random but well-scaled.
inline std::vector<TestTensor> random_model_tensors(const nlohmann::json& c, const RandomModelOptions& o) {
  std::mt19937 rng(o.seed);
  auto get = [&](const char* k) { return c.at(k).is_null() ? int64_t{0} : c.at(k).get<int64_t>(); };
  const int64_t H = get("hidden_size"), V = get("vocab_size"), heads = get("num_attention_heads");
  const int64_t nope = get("qk_nope_head_dim"), rope = get("qk_rope_head_dim"), vdim = get("v_head_dim");
  const int64_t kv = get("kv_lora_rank"), ql = get("q_lora_rank"), E = get("n_routed_experts");
  const int64_t inter = get("intermediate_size"), moe_inter = get("moe_intermediate_size");
  const int64_t layers = get("num_hidden_layers"), dense_first = get("first_k_dense_replace"), freq = get("moe_layer_freq");
  const int64_t shared = get("n_shared_experts");
  std::vector<TestTensor> ts;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset = 0, DType dt = DType::F32) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> u(-scale, scale);
    TestTensor t{name, o.dtype == DType::F32 ? dt : o.dtype, shape, {}};
    for (int64_t i = 0; i < n; ++i) t.values.push_back(offset + u(rng));
    ts.push_back(std::move(t));
  };
  auto linear = [&](const std::string& name, int64_t out, int64_t in) { add(name, {out, in}, 1.7f / std::sqrt(float(in))); };
  auto norm = [&](const std::string& name, int64_t n) { add(name, {n}, 0.2f, 1.0f); };
  add("model.embed_tokens.weight", {V, H}, 1.0f);
  for (int64_t l = 0; l < layers + (o.with_mtp_layer ? 1 : 0); ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm.weight", H);
    norm(p + "post_attention_layernorm.weight", H);
    if (ql > 0) {
      linear(p + "self_attn.q_a_proj.weight", ql, H);
      norm(p + "self_attn.q_a_layernorm.weight", ql);
      linear(p + "self_attn.q_b_proj.weight", heads * (nope + rope), ql);
    } else {
      linear(p + "self_attn.q_proj.weight", heads * (nope + rope), H);
    }
    linear(p + "self_attn.kv_a_proj_with_mqa.weight", kv + rope, H);
    norm(p + "self_attn.kv_a_layernorm.weight", kv);
    linear(p + "self_attn.kv_b_proj.weight", heads * (nope + vdim), kv);
    linear(p + "self_attn.o_proj.weight", H, heads * vdim);
    bool moe = E > 0 && l >= dense_first && l % freq == 0;
    if (!moe) {
      linear(p + "mlp.gate_proj.weight", inter, H);
      linear(p + "mlp.up_proj.weight", inter, H);
      linear(p + "mlp.down_proj.weight", H, inter);
      continue;
    }
    linear(p + "mlp.gate.weight", E, H);
    if (!c.contains("topk_method") || c["topk_method"] == "noaux_tc") add(p + "mlp.gate.e_score_correction_bias", {E}, 0.3f, 0.0f, DType::F32);
    if (o.mlx_layout) {
      add(p + "mlp.switch_mlp.gate_proj.weight", {E, moe_inter, H}, 1.7f / std::sqrt(float(H)));
      add(p + "mlp.switch_mlp.up_proj.weight", {E, moe_inter, H}, 1.7f / std::sqrt(float(H)));
      add(p + "mlp.switch_mlp.down_proj.weight", {E, H, moe_inter}, 1.7f / std::sqrt(float(moe_inter)));
    } else {
      for (int64_t e = 0; e < E; ++e) {
        const std::string ep = p + "mlp.experts." + std::to_string(e) + ".";
        linear(ep + "gate_proj.weight", moe_inter, H);
        linear(ep + "up_proj.weight", moe_inter, H);
        linear(ep + "down_proj.weight", H, moe_inter);
      }
    }
    if (shared > 0) {
      linear(p + "mlp.shared_experts.gate_proj.weight", moe_inter * shared, H);
      linear(p + "mlp.shared_experts.up_proj.weight", moe_inter * shared, H);
      linear(p + "mlp.shared_experts.down_proj.weight", H, moe_inter * shared);
    }
  }
  norm("model.norm.weight", H);
  if (!c.value("tie_word_embeddings", false)) linear("lm_head.weight", V, H);
  return ts;
}

// Writes config.json and one safetensors file (model.safetensors, or weights.safetensors for MLX).
inline void write_random_model(const std::filesystem::path& dir, const nlohmann::json& config,
                               const RandomModelOptions& options = {}) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump(2);
  write_safetensors(dir / (options.mlx_layout ? "weights.safetensors" : "model.safetensors"),
                    random_model_tensors(config, options));
}

}  // namespace dschat::test
