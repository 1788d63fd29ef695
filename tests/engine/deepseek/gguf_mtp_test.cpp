// The MTP module through GGUF: the bundled model (assets/model, MTP module model.layers.4)
// written by `dschat convert` as a BF16 file keeps it as llama.cpp's nextn block (blk.4 with
// blk.4.nextn.*, deepseek2.nextn_predict_layers = 1, block_count = 5), and the file read back
// drafts what the safetensors directory drafts: the module's logits against the directory's and
// against the PyTorch reference's forward_mtp (tests/data/bundled_mtp, tools/make_mtp_goldens.py),
// greedy output with --draft 2 equal to without, and `dschat info` naming the module.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generation.h"
#include "engine/gguf_export.h"
#include "engine/io/gguf_file.h"
#include "engine/io/model_error.h"
#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"
#include "tests/engine/npy_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kModelDir = fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model";
const fs::path kGoldenDir = fs::path(DSCHAT_TEST_DATA_DIR) / "bundled_mtp";

std::unique_ptr<Model> load(const fs::path& path) {
  LoadOptions o;
  o.threads = 2;
  return Model::load(path, o);
}

// The bundled model and its BF16 GGUF (with and without --keep-mtp), written once.
struct Files {
  test::TempDir dir;
  std::unique_ptr<Model> source;
  fs::path with_mtp, without_mtp;
  GgufExportSummary summary;
  Files() {
    source = load(kModelDir);
    with_mtp = dir / "bundled.gguf";
    without_mtp = dir / "bundled-no-mtp.gguf";
    GgufExportOptions o;
    o.type = GgufFileType::BF16;
    o.threads = 2;
    o.mtp = true;  // --keep-mtp
    summary = export_gguf(*source, with_mtp, o);
    o.mtp = false;
    export_gguf(*source, without_mtp, o);
  }
};
Files& files() {
  static Files f;
  return f;
}
const Model& gguf_model() {
  static std::unique_ptr<Model> m = load(files().with_mtp);
  return *m;
}

std::unique_ptr<InferenceContext> mtp_context(const Model& model, int capacity, int draft_vocab = 8192,
                                              bool quantized_draft_head = true) {
  ContextOptions options;
  options.mtp = true;
  options.draft_vocab = draft_vocab;
  options.quantized_draft_head = quantized_draft_head;
  return InferenceContext::create(model, capacity, options);
}

// max |a - b| / max |b|.
double relative_error(std::span<const float> a, std::span<const float> b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

TEST(GgufMtp, FileKeepsTheModuleAsANextnBlock) {
  const GgufFile f(files().with_mtp);
  const GgufValue* nextn = f.find("deepseek2.nextn_predict_layers");
  ASSERT_NE(nextn, nullptr);
  EXPECT_EQ(nextn->int_value, 1);
  ASSERT_NE(f.find("deepseek2.block_count"), nullptr);
  EXPECT_EQ(f.find("deepseek2.block_count")->int_value, 5);  // counts the module, as llama.cpp's converters do
  for (const char* t : {"blk.4.nextn.eh_proj.weight", "blk.4.nextn.enorm.weight", "blk.4.nextn.hnorm.weight",
                        "blk.4.nextn.shared_head_norm.weight", "blk.4.attn_norm.weight", "blk.4.attn_k_b.weight",
                        "blk.4.ffn_gate_exps.weight", "blk.4.exp_probs_b.bias"}) {
    EXPECT_NE(f.find_tensor(t), nullptr) << t;
  }
  // The embedding and the (tied) head are shared: not written again.
  EXPECT_EQ(f.find_tensor("blk.4.nextn.embed_tokens.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.4.nextn.shared_head_head.weight"), nullptr);
  const GgufTensor* eh = f.find_tensor("blk.4.nextn.eh_proj.weight");
  ASSERT_NE(eh, nullptr);
  EXPECT_EQ(eh->ne, (std::vector<uint64_t>{512, 256}));  // {2·n_embd, n_embd}, as glm4-moe.cpp loads it
  EXPECT_EQ(std::string(eh->type->name), "BF16");
  ASSERT_EQ(files().summary.notices.size(), 1u);
  EXPECT_NE(files().summary.notices[0].find("kept as nextn layers"), std::string::npos) << files().summary.notices[0];

  const GgufFile plain(files().without_mtp);
  EXPECT_EQ(plain.find("deepseek2.nextn_predict_layers"), nullptr);
  EXPECT_EQ(plain.find("deepseek2.block_count")->int_value, 4);
  EXPECT_EQ(plain.find_tensor("blk.4.attn_norm.weight"), nullptr);
  EXPECT_EQ(plain.find_tensor("blk.4.nextn.eh_proj.weight"), nullptr);
}

TEST(GgufMtp, FileWithoutTheModuleLoadsAsBefore) {
  auto m = load(files().without_mtp);
  EXPECT_EQ(m->config().num_hidden_layers, 4);
  EXPECT_EQ(m->config().num_nextn_predict_layers, 0);
  EXPECT_FALSE(mtp_context(*m, 16)->can_draft());
}

// Draft logits of the GGUF file's module equal the directory's at every position of the golden
// case, token by token, and are within the reference's tolerance of forward_mtp. The BF16 weights
// are the same bits; the file's W_UK is stored transposed (attn_k_b) and read by the split
// attention's kernel, which may sum in another order: bound 1e-5 relative (as GgufExport's
// BF16 logits; measured 1.2e-6 here, AVX2).
TEST(GgufMtp, DraftLogitsEqualTheDirectorysAndTheReference) {
  const nlohmann::json c = nlohmann::json::parse(std::ifstream(kGoldenDir / "case.json"));
  const auto ids = c["ids"].get<std::vector<int32_t>>();
  const auto argmax = c["argmax"].get<std::vector<int32_t>>();
  const NpyArray golden = read_npy(kGoldenDir / "mtp_logits.npy");
  const size_t columns = static_cast<size_t>(golden.shape[1]);
  const Model& gguf = gguf_model();
  ASSERT_EQ(gguf.config().num_hidden_layers, 4);
  ASSERT_EQ(gguf.config().num_nextn_predict_layers, 1);
  auto a = mtp_context(gguf, static_cast<int>(ids.size()), 0, false);
  auto b = mtp_context(*files().source, static_cast<int>(ids.size()), 0, false);
  ASSERT_TRUE(a->can_draft());
  ASSERT_TRUE(a->append(std::span<const int32_t>(ids.data(), 1), {}));
  ASSERT_TRUE(b->append(std::span<const int32_t>(ids.data(), 1), {}));
  double worst = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    int32_t da = -1, db = -1;
    ASSERT_EQ(a->draft(ids[i + 1], 1, std::span<int32_t>(&da, 1)), 1);
    ASSERT_EQ(b->draft(ids[i + 1], 1, std::span<int32_t>(&db, 1)), 1);
    const double e = relative_error(a->draft_logits(), b->draft_logits());
    worst = std::max(worst, e);
    EXPECT_LE(e, 1e-5) << "position " << i;
    EXPECT_EQ(da, db) << "position " << i;
    EXPECT_EQ(da, argmax[i]) << "position " << i;
    EXPECT_LE(relative_error(a->draft_logits().subspan(0, columns),
                             std::span<const float>(golden.data.data() + i * columns, columns)),
              1e-4)
        << "position " << i << " against forward_mtp";
    ASSERT_TRUE(a->append(std::span<const int32_t>(ids.data() + i + 1, 1), {}));
    ASSERT_TRUE(b->append(std::span<const int32_t>(ids.data() + i + 1, 1), {}));
  }
  std::printf("draft logits of the GGUF file vs the directory: relative max-abs %.3g\n", worst);
}

// nextn_predict_layers counts blocks of block_count: as many as block_count is an error naming the key.
TEST(GgufMtp, NextnLayersNotLessThanBlockCountIsAnErrorNamingTheKey) {
  std::ifstream in(files().with_mtp, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string key = "deepseek2.nextn_predict_layers";
  const size_t at = bytes.find(key);
  ASSERT_NE(at, std::string::npos);
  uint32_t type = 0, value = 0;
  std::memcpy(&type, bytes.data() + at + key.size(), 4);
  std::memcpy(&value, bytes.data() + at + key.size() + 4, 4);
  ASSERT_EQ(type, 4u);  // u32
  ASSERT_EQ(value, 1u);
  value = 5;
  std::memcpy(bytes.data() + at + key.size() + 4, &value, 4);
  const fs::path patched = files().dir / "nextn5.gguf";
  std::ofstream(patched, std::ios::binary) << bytes;
  try {
    load(patched);
    ADD_FAILURE() << "loaded";
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()), patched.string() + ": key 'deepseek2.nextn_predict_layers' is 5: must be less "
                                                         "than block_count (5), which counts them");
  }
}

class IdText : public TokenTextDecoder {
 public:
  std::string push(int32_t id) override {
    std::string text = "<";  // built piecewise: GCC 12 misreports "<" + std::string (-Wrestrict)
    text += std::to_string(id);
    return text + ">";
  }
  std::string finish() override { return {}; }
  void reset() override {}
};

GenerationResult greedy(const Model& model, InferenceContext& context, const std::vector<int32_t>& prompt, int draft) {
  SamplingParams params;
  params.temperature = 0;
  Sampler sampler(params);
  IdText text;
  GenerationOptions options;
  options.max_tokens = 40;
  options.draft_tokens = draft;
  return generate(model, context, prompt, sampler, text, options, nullptr);
}

TEST(GgufMtp, GreedyOutputWithDraftsEqualsWithout) {
  const Model& model = gguf_model();
  const std::vector<int32_t> prompt = {1870, 1793, 531, 11, 3914, 612, 307, 1657, 25};
  auto plain_context = InferenceContext::create(model, 128);
  auto spec_context = mtp_context(model, 128);
  const GenerationResult plain = greedy(model, *plain_context, prompt, 0);
  const GenerationResult spec = greedy(model, *spec_context, prompt, 2);
  EXPECT_EQ(plain.tokens, spec.tokens);
  EXPECT_EQ(plain.stats.stop, spec.stats.stop);
  EXPECT_EQ(plain_context->tokens(), spec_context->tokens());
  EXPECT_GT(spec.stats.accepted_tokens, 0) << "no draft accepted: the module did not run";
  // And the directory's speculative run gives the same tokens.
  auto dir_context = mtp_context(*files().source, 128);
  EXPECT_EQ(greedy(*files().source, *dir_context, prompt, 2).tokens, spec.tokens);
}

TEST(GgufMtp, InfoShowsTheModuleAsForTheDirectory) {
  auto mtp_line = [](const std::string& info) {
    const size_t at = info.find("multi-token prediction:");
    return at == std::string::npos ? std::string() : info.substr(at, info.find('\n', at) - at);
  };
  const std::string line = mtp_line(gguf_model().describe());
  EXPECT_NE(line.find("1 module(s) (layers 4..4)"), std::string::npos) << gguf_model().describe();
  EXPECT_NE(line.find("head shared with lm_head"), std::string::npos) << line;
  EXPECT_EQ(line, mtp_line(files().source->describe()));
}

}  // namespace
}  // namespace dschat
