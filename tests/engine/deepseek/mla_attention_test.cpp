// The absorbed form of MLA over long contexts, where decode splits the cached positions across
// tasks and merges the partial softmaxes (mla_attention.cpp, attend_absorbed): against the full
// form (keys and values rebuilt with W_UK, W_UV: independent arithmetic), and the same bits with
// any number of threads and whether the query is decoded alone or among a verify pass's tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/deepseek/deepseek_model.h"
#include "engine/deepseek/latent_cache.h"
#include "engine/deepseek/mla_attention.h"
#include "engine/ops/thread_pool.h"
#include "tests/engine/random_values.h"

namespace dschat {
namespace {

std::filesystem::path test_model(const char* name) {
  return std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "engine" / name / "model";
}

struct Attention {
  std::vector<float> heads_out;  // [n, heads·v]: before o_proj
  std::vector<float> out;        // [n, hidden]
};

// mla_attend of n queries at positions T-n..T-1 over a cache of T random positions.
Attention attend(const DeepSeekModel& model, const LatentCache& cache, const std::vector<float>& q, int64_t n,
                 int64_t T, AttentionForm form, int threads) {
  const ModelConfig& c = model.config();
  ThreadPool pool(threads);
  Workspace ws(pool);
  MlaScratch s;
  s.reserve(c, n, ws.threads());
  const int64_t q_width = c.num_attention_heads * c.qk_head_dim();
  std::copy(q.end() - n * q_width, q.end(), s.q.begin());
  Attention a;
  a.out.resize(n * c.hidden_size);
  mla_attend(ws, c, model.rope(), model.weights().layers[0].attention, 0, n, T - n, cache, form, s, a.out.data());
  const int64_t v_width = c.num_attention_heads * c.v_head_dim;
  a.heads_out.assign(s.heads_out.begin(), s.heads_out.begin() + n * v_width);
  return a;
}

TEST(MlaAttention, AbsorbedOverLongContextsEqualsTheFullFormWithAnyThreadsAndTokenCount) {
  auto model = DeepSeekModel::load_directory(test_model("qlora_sigmoid_groups"), {});
  const ModelConfig& c = model->config();
  const int rope_width = c.qk_rope_head_dim * c.rotary_key_heads();
  const int64_t q_width = c.num_attention_heads * c.qk_head_dim();
  const int64_t v_width = c.num_attention_heads * c.v_head_dim;
  // One tile, one split of several tiles, several splits, and more positions than the largest
  // number of splits times their least length (each split then grows).
  for (const int64_t T : {int64_t{50}, int64_t{250}, int64_t{1100}, int64_t{20000}}) {
    LatentCache cache(1, static_cast<int>(T), c.kv_lora_rank, rope_width, CacheType::F32);
    const std::vector<float> latents = random_values(T + 1, T * c.kv_lora_rank, 1.0f);
    const std::vector<float> rotary = random_values(T + 2, T * rope_width, 1.0f);
    for (int64_t p = 0; p < T; ++p) {
      std::memcpy(cache.c_kv(0, p), latents.data() + p * c.kv_lora_rank, c.kv_lora_rank * sizeof(float));
      std::memcpy(cache.k_pe(0, p), rotary.data() + p * rope_width, rope_width * sizeof(float));
    }
    // Queries large enough that the softmax is peaked in places (the merge's rescaling matters).
    const std::vector<float> q = random_values(T + 3, 3 * q_width, 3.0f);

    const Attention full = attend(*model, cache, q, 1, T, AttentionForm::Full, 2);
    const Attention absorbed = attend(*model, cache, q, 1, T, AttentionForm::Absorbed, 2);
    float largest = 0, difference = 0;
    for (int64_t k = 0; k < v_width; ++k) {
      largest = std::max(largest, std::fabs(full.heads_out[k]));
      difference = std::max(difference, std::fabs(full.heads_out[k] - absorbed.heads_out[k]));
    }
    EXPECT_LE(difference, 2e-5f * largest) << "T " << T << ": the absorbed form differs from the full form";
    EXPECT_GT(largest, 0.0f);

    for (const int threads : {1, 3}) {
      EXPECT_EQ(attend(*model, cache, q, 1, T, AttentionForm::Absorbed, threads).heads_out, absorbed.heads_out)
          << "T " << T << ": " << threads << " threads give other bits than 2";
    }
    // A verify pass: three queries at T-3..T-1, the last one the decoded query above.
    const Attention three = attend(*model, cache, q, 3, T, AttentionForm::Absorbed, 2);
    EXPECT_TRUE(std::equal(absorbed.heads_out.begin(), absorbed.heads_out.end(), three.heads_out.begin() + 2 * v_width))
        << "T " << T << ": the last of three queries differs from the same query alone";
  }
}

}  // namespace
}  // namespace dschat
