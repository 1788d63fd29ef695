// dschat's GGUF writer and deepseek2 export (engine/gguf_export.h) against files llama.cpp made
// (tests/data/gguf/, tools/make_gguf_goldens.py: its converter and llama-quantize):
//   - from the converter's F32 file, dschat's F16/BF16/Q4_0 files equal llama.cpp's F16/BF16
//     (converter) and Q4_0 (llama-quantize) files byte for byte, every tensor and every metadata
//     key; Q8_0 too but for rounding ties (dschat rounds x/d half to even as its load-time
//     --type q8_0 does, ggml's reference half away from zero: measured 1 byte of 126.8 KiB);
//   - the K-quant mixes give every tensor the type llama-quantize gave it (Q4_K_M and Q6_K of
//     v3_kquant), and the K-quant bytes are the quantizer's own output on the source's rows;
//   - a Hugging Face directory (kv_b_proj, experts one by one) becomes attn_k_b = W_UKᵀ per
//     head, attn_v_b and stacked ffn_*_exps, and reads back to the same config and logits;
//   - the file loads back bit-exact: logits equal the source's loaded with the same --type;
//   - a published-layout FP8 directory (tests/data/engine/fp8_v3) is written from its dequantized
//     weights (e4m3 × block scale, DeepSeek's weight_dequant): every tensor's bytes are the type's
//     encoding of them, and the file's logits are those of the directory loaded with that --type;
//   - a failed or cancelled write leaves no file (and an old target untouched).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <csignal>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "engine/deepseek/deepseek_model.h"
#include "engine/gguf_export.h"
#include "engine/io/gguf_file.h"
#include "engine/io/gguf_writer.h"
#include "engine/io/safetensors_source.h"
#include "engine/model.h"
#include "engine/ops/weight_matrix.h"
#include "engine/quant/ggml_blocks.h"
#include "engine/quant/float8.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
const fs::path kGguf = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";
const fs::path kEngine = fs::path(DSCHAT_TEST_DATA_DIR) / "engine";

std::unique_ptr<Model> load(const fs::path& path, WeightType body = WeightType::Native,
                            WeightType output = WeightType::Native) {
  LoadOptions o;
  o.threads = 2;
  o.weight_type = body;
  o.output_weight_type = output;
  return Model::load(path, o);
}

GgufExportSummary write(const fs::path& src, const fs::path& out, GgufFileType type,
                        std::vector<std::pair<std::string, GgufValue>> tokenizer = {}, bool keep_mtp = false) {
  auto model = load(src);
  GgufExportOptions o;
  o.type = type;
  o.threads = 2;
  o.mtp = keep_mtp;
  o.tokenizer = std::move(tokenizer);
  return export_gguf(*model, out, o);
}

// The source file's tokenizer keys, as the app passes them.
std::vector<std::pair<std::string, GgufValue>> tokenizer_keys(const GgufFile& f) {
  std::vector<std::pair<std::string, GgufValue>> keys;
  for (const auto& [k, v] : f.metadata()) {
    if (k.rfind("tokenizer.", 0) == 0) keys.emplace_back(k, v);
  }
  return keys;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  return a.type == b.type && a.int_value == b.int_value && a.uint_value == b.uint_value &&
         a.float_value == b.float_value && a.string_value == b.string_value &&
         (a.type != GgufType::Array || (a.element_type == b.element_type && a.ints == b.ints && a.floats == b.floats &&
                                        a.strings == b.strings));
}

std::vector<float> logits(const Model& model, const std::vector<int32_t>& ids) {
  auto ctx = InferenceContext::create(model, static_cast<int>(ids.size()));
  std::vector<float> all(ids.size() * static_cast<size_t>(model.config().vocab_size));
  EXPECT_TRUE(ctx->append(ids, {}, nullptr, all));
  return all;
}

const std::vector<int32_t> kIds = {162, 101, 16, 319, 260, 137, 76, 267, 7, 136, 78, 186};

struct SameAsLlamaCpp {
  GgufFileType type;
  std::string golden;      // v3_qlora.<golden>.gguf
  size_t max_diff_bytes;   // rounding ties (Q8_0)
};

class GgufExportSameAsLlamaCpp : public ::testing::TestWithParam<SameAsLlamaCpp> {};

TEST_P(GgufExportSameAsLlamaCpp, EveryTensorAndKeyOfTheLlamaCppFile) {
  const SameAsLlamaCpp& c = GetParam();
  TempDir dir;
  const fs::path src = kGguf / "v3_qlora.F32.gguf";
  write(src, dir / "out.gguf", c.type, tokenizer_keys(GgufFile(src)));
  const GgufFile ours(dir / "out.gguf"), theirs(kGguf / ("v3_qlora." + c.golden + ".gguf"));
  EXPECT_EQ(ours.version(), 3u);
  EXPECT_EQ(ours.alignment(), 32u);
  ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
  size_t diff_bytes = 0;
  for (const GgufTensor& t : theirs.tensors()) {
    const GgufTensor* o = ours.find_tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_STREQ(o->type->name, t.type->name) << t.name;
    EXPECT_EQ(o->ne, t.ne) << t.name;
    ASSERT_EQ(o->nbytes, t.nbytes) << t.name;
    const auto* a = reinterpret_cast<const uint8_t*>(ours.tensor_data(*o));
    const auto* b = reinterpret_cast<const uint8_t*>(theirs.tensor_data(t));
    for (uint64_t i = 0; i < t.nbytes; ++i) diff_bytes += a[i] != b[i];
  }
  EXPECT_LE(diff_bytes, c.max_diff_bytes);
  for (const auto& [key, value] : theirs.metadata()) {
    if (key == "general.size_label") continue;  // the converter's parameter label: not read by anyone
    const GgufValue* v = ours.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_TRUE(same_value(*v, value)) << key << ": " << v->summary() << " vs " << value.summary();
  }
}

INSTANTIATE_TEST_SUITE_P(V3Qlora, GgufExportSameAsLlamaCpp,
                         ::testing::Values(SameAsLlamaCpp{GgufFileType::F16, "F16", 0},
                                           SameAsLlamaCpp{GgufFileType::BF16, "BF16", 0},
                                           SameAsLlamaCpp{GgufFileType::Q4_0, "Q4_0", 0},
                                           SameAsLlamaCpp{GgufFileType::Q8_0, "Q8_0", 2}),
                         [](const auto& info) { return std::string(gguf_file_type_name(info.param.type)); });

// Row r of a GGUF tensor widened to floats.
std::vector<float> widened_row(const GgufFile& f, const GgufTensor& t, int64_t r) {
  WeightMatrix w;
  w.dtype = *t.type->dtype;
  w.cols = static_cast<int64_t>(t.ne[0]);
  w.rows = static_cast<int64_t>(t.nbytes / (t.ne[0] / t.type->block.weights * t.type->block.bytes));
  w.data = f.tensor_data(t);
  std::vector<float> out(static_cast<size_t>(w.cols));
  weight_row_to_f32(w, r, out.data());
  return out;
}

TEST(GgufExport, KQuantMixesGiveEveryTensorLlamaQuantizesTypeAndTheQuantizersBytes) {
  TempDir dir;
  for (auto [from, to, type] : {std::tuple{"Q6_K", "Q4_K_M", GgufFileType::Q4_K_M}, std::tuple{"Q4_K_M", "Q6_K", GgufFileType::Q6_K}}) {
    const fs::path src = kGguf / (std::string("v3_kquant.") + from + ".gguf");
    const fs::path out = dir / (std::string(to) + ".gguf");
    write(src, out, type);
    const GgufFile ours(out), theirs(kGguf / (std::string("v3_kquant.") + to + ".gguf")), source(src);
    ASSERT_EQ(ours.tensors().size(), theirs.tensors().size());
    std::map<std::string, int> checked;
    for (const GgufTensor& t : theirs.tensors()) {
      const GgufTensor* o = ours.find_tensor(t.name);
      ASSERT_NE(o, nullptr) << t.name;
      EXPECT_STREQ(o->type->name, t.type->name) << to << " " << t.name;  // llama-quantize's choice
      const GgufTensor* s = source.find_tensor(t.name);
      ASSERT_NE(s, nullptr);
      if (s->type == o->type) continue;  // copied as stored
      // The quantizer's own output on the source's rows (widened exactly).
      const int64_t n = static_cast<int64_t>(t.ne[0]);
      const size_t row_bytes = static_cast<size_t>(n / o->type->block.weights) * o->type->block.bytes;
      const int64_t rows = static_cast<int64_t>(o->nbytes / row_bytes);
      std::vector<std::byte> expect(row_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        const std::vector<float> x = widened_row(source, *s, r);
        const std::string name = o->type->name;
        if (name == "Q4_K") quantize_row_q4_k(x.data(), reinterpret_cast<BlockQ4_K*>(expect.data()), n);
        else if (name == "Q6_K") quantize_row_q6_k(x.data(), reinterpret_cast<BlockQ6_K*>(expect.data()), n);
        else if (name == "Q5_0") quantize_row_q5_0(x.data(), reinterpret_cast<BlockQ5_0*>(expect.data()), n);
        else if (name == "Q8_0") quantize_row_q8_0(x.data(), reinterpret_cast<BlockQ8_0*>(expect.data()), n);
        else FAIL() << "unexpected type " << name << " for " << t.name;
        ASSERT_EQ(std::memcmp(expect.data(), ours.tensor_data(*o) + static_cast<size_t>(r) * row_bytes, row_bytes), 0)
            << to << " " << t.name << " row " << r;
      }
      ++checked[o->type->name];
    }
    EXPECT_GT(checked.size(), 1u) << to;  // more than one quantizer was exercised
  }
}

TEST(GgufExport, HuggingFaceDirectorySplitsKvBStacksExpertsAndReadsBackTheSameModel) {
  TempDir dir;
  const fs::path src = kEngine / "qlora_sigmoid_groups" / "model";
  write(src, dir / "out.gguf", GgufFileType::F32);
  const GgufFile f(dir / "out.gguf");
  auto st = SafetensorsSource::open_directory(src);
  auto floats = [](const TensorInfo* t) { return reinterpret_cast<const float*>(t->data); };
  auto gguf_floats = [&](const std::string& name) {
    const GgufTensor* t = f.find_tensor(name);
    EXPECT_NE(t, nullptr) << name;
    EXPECT_STREQ(t->type->name, "F32");
    return reinterpret_cast<const float*>(f.tensor_data(*t));
  };
  const int heads = 4, nope = 12, v = 8, rank = 32, experts = 16;
  for (int l = 0; l < 2; ++l) {
    const std::string hf = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    const TensorInfo* kv_b = st->find(hf + "self_attn.kv_b_proj.weight");
    ASSERT_NE(kv_b, nullptr);
    const float* k_b = gguf_floats(b + "attn_k_b.weight");
    const float* v_b = gguf_floats(b + "attn_v_b.weight");
    EXPECT_EQ(f.find_tensor(b + "attn_k_b.weight")->ne, (std::vector<uint64_t>{nope, rank, heads}));
    EXPECT_EQ(f.find_tensor(b + "attn_v_b.weight")->ne, (std::vector<uint64_t>{rank, v, heads}));
    for (int h = 0; h < heads; ++h) {
      for (int c = 0; c < rank; ++c) {
        for (int j = 0; j < nope; ++j) {  // k_b[h][c][j] = kv_b[h·(nope+v) + j][c]
          ASSERT_EQ(k_b[(h * rank + c) * nope + j], floats(kv_b)[(h * (nope + v) + j) * rank + c]);
        }
      }
      for (int i = 0; i < v; ++i) {
        ASSERT_EQ(std::memcmp(v_b + (h * v + i) * rank, floats(kv_b) + (h * (nope + v) + nope + i) * rank, rank * 4), 0);
      }
    }
    if (l == 0) continue;  // first_k_dense_replace 1
    for (const char* proj : {"gate", "up", "down"}) {
      const GgufTensor* t = f.find_tensor(b + "ffn_" + proj + "_exps.weight");
      ASSERT_NE(t, nullptr);
      ASSERT_EQ(t->ne[2], uint64_t(experts));
      const size_t per = t->nbytes / experts;
      for (int e = 0; e < experts; ++e) {
        const TensorInfo* x = st->find(hf + "mlp.experts." + std::to_string(e) + "." + proj + "_proj.weight");
        ASSERT_NE(x, nullptr);
        ASSERT_EQ(x->nbytes, per);
        ASSERT_EQ(std::memcmp(f.tensor_data(*t) + e * per, x->data, per), 0) << proj << " expert " << e;
      }
    }
  }
  // The same model read back: config and logits (the split attention sums in another order).
  auto a = load(src), g = load(dir / "out.gguf");
  const ModelConfig &x = a->config(), &y = g->config();
  EXPECT_EQ(y.num_hidden_layers, x.num_hidden_layers);
  EXPECT_EQ(y.hidden_size, x.hidden_size);
  EXPECT_EQ(y.intermediate_size, x.intermediate_size);
  EXPECT_EQ(y.moe_intermediate_size, x.moe_intermediate_size);
  EXPECT_EQ(y.num_attention_heads, x.num_attention_heads);
  EXPECT_EQ(y.q_lora_rank, x.q_lora_rank);
  EXPECT_EQ(y.kv_lora_rank, x.kv_lora_rank);
  EXPECT_EQ(y.qk_nope_head_dim, x.qk_nope_head_dim);
  EXPECT_EQ(y.qk_rope_head_dim, x.qk_rope_head_dim);
  EXPECT_EQ(y.v_head_dim, x.v_head_dim);
  EXPECT_EQ(y.n_routed_experts, x.n_routed_experts);
  EXPECT_EQ(y.num_experts_per_tok, x.num_experts_per_tok);
  EXPECT_EQ(y.n_shared_experts, x.n_shared_experts);
  EXPECT_EQ(y.first_k_dense_replace, x.first_k_dense_replace);
  EXPECT_EQ(y.n_group, x.n_group);
  EXPECT_EQ(y.topk_group, x.topk_group);
  EXPECT_EQ(y.scoring_func, x.scoring_func);
  EXPECT_EQ(y.topk_method, x.topk_method);
  EXPECT_EQ(y.norm_topk_prob, x.norm_topk_prob);
  EXPECT_EQ(y.routed_scaling_factor, x.routed_scaling_factor);
  EXPECT_EQ(y.max_position_embeddings, x.max_position_embeddings);
  EXPECT_EQ(y.rope_theta, x.rope_theta);
  EXPECT_EQ(float(y.rms_norm_eps), float(x.rms_norm_eps));
  EXPECT_EQ(y.vocab_size, x.vocab_size);
  EXPECT_EQ(y.tie_word_embeddings, x.tie_word_embeddings);
  std::vector<int32_t> ids = {3, 17, 200, 45, 9, 128, 77};
  const std::vector<float> la = logits(*a, ids), lg = logits(*g, ids);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    diff = std::max(diff, std::fabs(double(la[i]) - lg[i]));
    scale = std::max(scale, std::fabs(double(la[i])));
  }
  EXPECT_LT(diff / scale, 1e-5);
}

TEST(GgufExport, YarnAndTiedEmbeddingsRoundTrip) {
  TempDir dir;
  // The yarn case has mscale 1 and mscale_all_dim 0.707: the file cannot say so (only
  // yarn_log_multiplier = 0.1·mscale_all_dim), so the export refuses it rather than change the math.
  try {
    write(kEngine / "yarn" / "model", dir / "yarn.gguf", GgufFileType::F32);
    ADD_FAILURE() << "yarn with mscale != mscale_all_dim was written";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("mscale"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "yarn.gguf"));
  write(kEngine / "tied_embeddings" / "model", dir / "tied.gguf", GgufFileType::Q8_0);
  const GgufFile tied(dir / "tied.gguf");
  EXPECT_EQ(tied.find_tensor("output.weight"), nullptr);
  EXPECT_TRUE(load(dir / "tied.gguf")->config().tie_word_embeddings);
}

// The written file is what dschat makes at load with the same type: the logits are bit-identical.
TEST(GgufExport, LogitsEqualTheSourceLoadedWithTheSameType) {
  TempDir dir;
  const fs::path src = kGguf / "v3_qlora.F32.gguf";
  for (auto [type, load_type] : {std::pair{GgufFileType::BF16, WeightType::BF16}, std::pair{GgufFileType::Q8_0, WeightType::Q8_0},
                                 std::pair{GgufFileType::F32, WeightType::F32}}) {
    const fs::path out = dir / (std::string(gguf_file_type_name(type)) + ".gguf");
    write(src, out, type);
    const std::vector<float> a = logits(*load(src, load_type, load_type), kIds), b = logits(*load(out), kIds);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << gguf_file_type_name(type);
  }
}

// An FP8 tensor of the directory dequantized as DeepSeek's weight_dequant defines it (e4m3 value ×
// the F32 weight_scale_inv of its 128×128 block), or a BF16/F32 tensor widened: [rows][cols].
std::vector<float> dequantized(const TensorSource& st, const std::string& name) {
  const TensorInfo* t = st.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  const int64_t rows = t->shape.size() == 2 ? t->shape[0] : 1, cols = t->shape.back();
  std::vector<float> out(static_cast<size_t>(rows * cols));
  if (t->dtype == DType::F32) {
    std::memcpy(out.data(), t->data, out.size() * 4);
  } else if (t->dtype == DType::BF16) {
    const auto* h = reinterpret_cast<const uint16_t*>(t->data);
    for (size_t i = 0; i < out.size(); ++i) out[i] = bf16_to_f32(h[i]);
  } else {
    EXPECT_EQ(t->dtype, DType::F8_E4M3) << name;
    const TensorInfo* s = st.find(name + "_scale_inv");
    EXPECT_NE(s, nullptr) << name;
    const auto* q = reinterpret_cast<const uint8_t*>(t->data);
    const auto* scale = reinterpret_cast<const float*>(s->data);
    const int64_t blocks_per_row = (cols + 127) / 128;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        out[r * cols + c] = e4m3_to_f32(q[r * cols + c]) * scale[(r / 128) * blocks_per_row + c / 128];
      }
    }
  }
  return out;
}

// Float rows [n values each] encoded as the GGUF type `t` (its row encoder, as llama.cpp defines it).
std::vector<std::byte> encoded(const GgmlType& t, const std::vector<float>& x, int64_t n) {
  const int64_t rows = static_cast<int64_t>(x.size()) / n;
  const size_t row_bytes = static_cast<size_t>(n / t.block.weights) * t.block.bytes;
  std::vector<std::byte> out(row_bytes * static_cast<size_t>(rows));
  const std::string name = t.name;
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = x.data() + r * n;
    std::byte* o = out.data() + static_cast<size_t>(r) * row_bytes;
    if (name == "F32") {
      std::memcpy(o, v, static_cast<size_t>(n) * 4);
    } else if (name == "F16" || name == "BF16") {
      for (int64_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(o)[i] = name == "F16" ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
    } else if (name == "Q8_0") {
      quantize_row_q8_0(v, reinterpret_cast<BlockQ8_0*>(o), n);
    } else {
      ADD_FAILURE() << "unexpected type " << name;
    }
  }
  return out;
}

// The published FP8 layout, written as Q8_0 and as BF16 files: each file holds the chosen
// encoding of the dequantized weights (kv_b split per head, W_UK transposed; experts stacked;
// rows not of 32 values F16 in a Q8_0 file, as llama-quantize's fallback), and reads back to the
// logits of the directory loaded with the same --type. BF16: the same weights bit for bit (W_UK
// transposed), read by another kernel (the split attention's widened W_UK): measured equal on
// AVX2, bound 1e-5 for levels that sum in another order. Q8_0: attn_k_b is quantized along nope
// (W_UKᵀ's rows, 32 wide) and attn_v_b/attn_q_b (136 wide) are F16, where --type q8_0 keeps
// kv_b_proj and q_b_proj (136 wide) BF16: measured 4.5e-3, bound 2e-2.
TEST(GgufExport, Fp8DirectoryIsWrittenFromItsDequantizedWeights) {
  TempDir dir;
  const fs::path src = kEngine / "fp8_v3" / "model";
  auto st = SafetensorsSource::open_directory(src);
  const int heads = 2, nope = 32, v = 32, rank = 136, experts = 8;
  for (auto [type, load_type, tolerance] : {std::tuple{GgufFileType::Q8_0, WeightType::Q8_0, 2e-2},
                                            std::tuple{GgufFileType::BF16, WeightType::BF16, 1e-5}}) {
    const std::string what = gguf_file_type_name(type);
    const fs::path out = dir / (what + ".gguf");
    const GgufExportSummary summary = write(src, out, type, {}, /*keep_mtp=*/true);
    EXPECT_EQ(summary.notices.size(), 1u) << what;  // the MTP layer is kept
    const GgufFile f(out);
    // The MTP layer (4) as a nextn block, its own head (shared_head.head differs from lm_head here).
    EXPECT_NE(f.find_tensor("blk.4.nextn.eh_proj.weight"), nullptr);
    EXPECT_NE(f.find_tensor("blk.4.nextn.shared_head_head.weight"), nullptr);
    // Every tensor of layers 1 (dense) and 3 (MoE), the embedding and the head.
    std::map<std::string, std::vector<float>> expect;  // GGUF name -> rows it must hold
    expect["token_embd.weight"] = dequantized(*st, "model.embed_tokens.weight");
    expect["output.weight"] = dequantized(*st, "lm_head.weight");
    expect["output_norm.weight"] = dequantized(*st, "model.norm.weight");
    for (int l : {1, 3}) {
      const std::string hf = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
      const std::string a = hf + "self_attn.", m = hf + "mlp.";
      expect[b + "attn_norm.weight"] = dequantized(*st, hf + "input_layernorm.weight");
      expect[b + "ffn_norm.weight"] = dequantized(*st, hf + "post_attention_layernorm.weight");
      expect[b + "attn_q_a.weight"] = dequantized(*st, a + "q_a_proj.weight");
      expect[b + "attn_q_a_norm.weight"] = dequantized(*st, a + "q_a_layernorm.weight");
      expect[b + "attn_q_b.weight"] = dequantized(*st, a + "q_b_proj.weight");
      expect[b + "attn_kv_a_mqa.weight"] = dequantized(*st, a + "kv_a_proj_with_mqa.weight");
      expect[b + "attn_kv_a_norm.weight"] = dequantized(*st, a + "kv_a_layernorm.weight");
      expect[b + "attn_output.weight"] = dequantized(*st, a + "o_proj.weight");
      const std::vector<float> kv_b = dequantized(*st, a + "kv_b_proj.weight");
      std::vector<float>& k_b = expect[b + "attn_k_b.weight"];
      std::vector<float>& v_b = expect[b + "attn_v_b.weight"];
      for (int h = 0; h < heads; ++h) {
        for (int c = 0; c < rank; ++c) {
          for (int j = 0; j < nope; ++j) k_b.push_back(kv_b[(h * (nope + v) + j) * rank + c]);  // W_UKᵀ
        }
        for (int i = 0; i < v; ++i) {
          const float* row = kv_b.data() + (h * (nope + v) + nope + i) * rank;
          v_b.insert(v_b.end(), row, row + rank);
        }
      }
      if (l == 1) {
        for (const char* proj : {"gate", "up", "down"}) {
          expect[b + "ffn_" + proj + ".weight"] = dequantized(*st, m + proj + "_proj.weight");
        }
        continue;
      }
      expect[b + "ffn_gate_inp.weight"] = dequantized(*st, m + "gate.weight");
      expect[b + "exp_probs_b.bias"] = dequantized(*st, m + "gate.e_score_correction_bias");
      for (const char* proj : {"gate", "up", "down"}) {
        std::vector<float>& stacked = expect[b + "ffn_" + proj + "_exps.weight"];
        for (int e = 0; e < experts; ++e) {
          const std::vector<float> x = dequantized(*st, m + "experts." + std::to_string(e) + "." + proj + "_proj.weight");
          stacked.insert(stacked.end(), x.begin(), x.end());
        }
        expect[b + "ffn_" + proj + "_shexp.weight"] = dequantized(*st, m + "shared_experts." + proj + "_proj.weight");
      }
    }
    // The MTP module's own tensors (its decoder layer is written by the same code as layer 3's).
    expect["blk.4.nextn.eh_proj.weight"] = dequantized(*st, "model.layers.4.eh_proj.weight");
    expect["blk.4.nextn.enorm.weight"] = dequantized(*st, "model.layers.4.enorm.weight");
    expect["blk.4.nextn.hnorm.weight"] = dequantized(*st, "model.layers.4.hnorm.weight");
    expect["blk.4.nextn.shared_head_norm.weight"] = dequantized(*st, "model.layers.4.shared_head.norm.weight");
    expect["blk.4.nextn.shared_head_head.weight"] = dequantized(*st, "model.layers.4.shared_head.head.weight");
    std::map<std::string, int> types;
    for (const auto& [name, rows] : expect) {
      const GgufTensor* t = f.find_tensor(name);
      ASSERT_NE(t, nullptr) << what << " " << name;
      const bool matrix = t->ne.size() > 1 && name.find("gate_inp") == std::string::npos;
      const std::string want = !matrix ? "F32"
                               : type == GgufFileType::BF16 ? "BF16"
                               : t->ne[0] % 32 == 0 ? "Q8_0" : "F16";
      EXPECT_EQ(t->type->name, want) << what << " " << name;
      ++types[t->type->name];
      const std::vector<std::byte> bytes = encoded(*t->type, rows, static_cast<int64_t>(t->ne[0]));
      ASSERT_EQ(bytes.size(), t->nbytes) << what << " " << name;
      EXPECT_EQ(std::memcmp(bytes.data(), f.tensor_data(*t), bytes.size()), 0) << what << " " << name;
    }
    EXPECT_EQ(types.size(), type == GgufFileType::Q8_0 ? 3u : 2u) << what;  // Q8_0, F16 (136 wide), F32
    // Read back: the directory's logits at the same --type (embedding and head converted too).
    const std::vector<int32_t> ids = {3, 200, 17, 255, 45, 9, 128, 77, 1, 64, 130, 250};
    const std::vector<float> a = logits(*load(src, load_type, load_type), ids), g = logits(*load(out), ids);
    const std::string info = load(out)->describe();  // the module read back with its own head
    EXPECT_NE(info.find("multi-token prediction: 1 module(s) (layers 4..4)"), std::string::npos) << info;
    EXPECT_NE(info.find("head own"), std::string::npos) << info;
    ASSERT_EQ(a.size(), g.size());
    double diff = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::fabs(double(a[i]) - g[i]));
      scale = std::max(scale, std::fabs(double(a[i])));
    }
    std::printf("%s: logits of the file vs the directory at --type %s: relative max-abs %.3g\n", what.c_str(),
                what.c_str(), diff / scale);
    EXPECT_GT(scale, 0.0);
    EXPECT_LT(diff / scale, tolerance) << what;
  }
}

TEST(GgufExport, AFailedOrCancelledWriteLeavesNoFileAndTheOldTargetIntact) {
  TempDir dir;
  auto model = load(kGguf / "v3_qlora.F32.gguf");
  auto count_entries = [&] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n;
    return n;
  };
  // Cancelled half way: LoadCancelled, the old file as it was, no temporary file.
  { std::ofstream(dir / "old.gguf") << "old contents"; }
  GgufExportOptions o;
  o.type = GgufFileType::Q8_0;
  o.progress = [](uint64_t done, uint64_t total) { return done < total / 2; };
  EXPECT_THROW(export_gguf(*model, dir / "old.gguf", o), LoadCancelled);
  std::ifstream old(dir / "old.gguf");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(old), {}), "old contents");
  EXPECT_EQ(count_entries(), 1u);
  // A target that is a directory or a FIFO is refused before anything is written.
  fs::create_directory(dir / "d.gguf");
  ASSERT_EQ(::mkfifo((dir / "f.gguf").c_str(), 0600), 0);
  o.progress = nullptr;
  for (const char* name : {"d.gguf", "f.gguf"}) {
    try {
      export_gguf(*model, dir / name, o);
      ADD_FAILURE() << name;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(count_entries(), 3u);
  // The disk fills (a file size limit: write fails with EFBIG): a clear error, no file.
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    export_gguf(*model, dir / "full.gguf", o);
  } catch (const ModelError& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was written"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir / "full.gguf"));
  EXPECT_EQ(count_entries(), 3u);
}

TEST(GgufExport, SeedVariantsDeepseek2CannotExpressAreRefusedSayingWhy) {
  for (const char* variant : {"era", "mayank"}) {
    auto model = load(fs::path(DSCHAT_TEST_DATA_DIR) / "pt" / variant / "model.pt");
    try {
      gguf_export_notices(*model);
      ADD_FAILURE() << variant;
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("deepseek2"), std::string::npos) << e.what();
    }
  }
}

TEST(GgufWriter, MetadataOfEveryKindReadsBack) {
  TempDir dir;
  {
    GgufWriter w(dir / "m.gguf");
    w.add_metadata("a.u32", gguf_u32(7));
    w.add_metadata("a.i32", gguf_i32(-3));
    w.add_metadata("a.f32", gguf_f32(0.5f));
    w.add_metadata("a.bool", gguf_bool(true));
    w.add_metadata("a.str", gguf_string("héllo"));
    w.add_metadata("a.strs", gguf_string_array({"x", "", "y z"}));
    w.add_metadata("a.ints", gguf_i32_array({1, -2, 3}));
    w.add_tensor("t", {3}, *ggml_type(0));  // 12 bytes: padded to 32
    w.add_tensor("u", {32}, *ggml_type(8));
    w.write_header();
    const float t[3] = {1, 2, 3};
    w.write_data(t, sizeof t);
    std::vector<std::byte> q(34, std::byte{1});
    w.write_data(q.data(), q.size());
    w.commit();
  }
  const GgufFile f(dir / "m.gguf");
  EXPECT_EQ(f.find("a.u32")->int_value, 7);
  EXPECT_EQ(f.find("a.i32")->int_value, -3);
  EXPECT_EQ(f.find("a.f32")->float_value, 0.5);
  EXPECT_EQ(f.find("a.bool")->int_value, 1);
  EXPECT_EQ(f.find("a.str")->string_value, "héllo");
  EXPECT_EQ(f.find("a.strs")->strings, (std::vector<std::string>{"x", "", "y z"}));
  EXPECT_EQ(f.find("a.ints")->ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f.find("general.alignment")->int_value, 32);
  EXPECT_EQ(f.find_tensor("u")->offset, 32u);
  EXPECT_EQ(reinterpret_cast<const float*>(f.tensor_data(*f.find_tensor("t")))[2], 3.0f);
  // A tensor not written whole: commit fails, nothing is left.
  {
    GgufWriter w(dir / "short.gguf");
    w.add_tensor("t", {8}, *ggml_type(0));
    w.write_header();
    const float x[4] = {};
    w.write_data(x, sizeof x);
    EXPECT_THROW(w.commit(), ModelError);
  }
  EXPECT_FALSE(fs::exists(dir / "short.gguf"));
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n;
  EXPECT_EQ(n, 1u);
}

}  // namespace
}  // namespace dschat
