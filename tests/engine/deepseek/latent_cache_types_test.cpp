// The latent cache's element types (--cache-type): each type's stored row decodes to what an
// independent encoder of the format gives (BF16: f32_to_bf16; FP8: FlashMLA's per-128 amax/448
// scale and the OCP E4M3 encoder; Q8_0: the Q8_0 quantizer), attention over a quantized cache is
// attention over an F32 cache holding the decoded values (both forms), and the model's
// next-token distributions over a greedy run stay within a KL bound of the F32 cache's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/deepseek/deepseek_model.h"
#include "engine/deepseek/latent_cache.h"
#include "engine/deepseek/mla_attention.h"
#include "engine/model.h"
#include "engine/quant/float8.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"
#include "tests/engine/random_values.h"

namespace dschat {
namespace {

constexpr int kLatent = 320;  // two full FP8 tiles and a partial one of 64; ten Q8_0 blocks
constexpr int kRope = 48;

// FlashMLA's FP8 latent decoded: per tile of 128, scale = amax / 448, value = e4m3(x / scale) · scale.
std::vector<float> fp8_expected(const std::vector<float>& x, bool scaled) {
  std::vector<float> out(x.size());
  for (size_t begin = 0; begin < x.size(); begin += 128) {
    const size_t end = std::min(x.size(), begin + 128);
    float amax = 0;
    for (size_t i = begin; i < end; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float scale = scaled ? amax / 448.0f : 1.0f;
    for (size_t i = begin; i < end; ++i) out[i] = e4m3_to_f32(f32_to_e4m3(x[i] / scale)) * scale;
  }
  return out;
}

std::vector<float> bf16_expected(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = bf16_to_f32(f32_to_bf16(x[i]));
  return out;
}

std::vector<float> q8_0_expected(const std::vector<float>& x) {
  std::vector<BlockQ8_0> blocks(x.size() / kQuantBlock);
  quantize_row_q8_0(x.data(), blocks.data(), static_cast<int64_t>(x.size()));
  std::vector<float> out(x.size());
  dequantize_row_q8_0(blocks.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

struct Stored {
  std::vector<float> latent, rope;
};

// Stores three positions in layer 1 of a 2-layer cache and reads position 1 back.
Stored round_trip(CacheType type, const std::vector<float>& latent, const std::vector<float>& rope) {
  LatentCache cache(2, 3, kLatent, kRope, type);
  const std::vector<float> other = random_values(9, kLatent + kRope, 3.0f);
  for (int p = 0; p < 3; ++p) {
    for (int layer = 0; layer < 2; ++layer) {
      const bool target = p == 1 && layer == 1;
      cache.store(layer, p, target ? latent.data() : other.data(), target ? rope.data() : other.data() + kLatent);
    }
  }
  Stored s{std::vector<float>(kLatent), std::vector<float>(kRope)};
  std::vector<float> scratch(2 * kLatent);
  const float* l = cache.latents(1, 1, 1, scratch.data());
  std::copy(l, l + kLatent, s.latent.begin());
  const float* r = cache.rotary_keys(1, 1, 1, scratch.data());
  std::copy(r, r + kRope, s.rope.begin());
  return s;
}

TEST(LatentCacheTypes, EachTypeStoresWhatAnIndependentEncoderGives) {
  const std::vector<float> latent = random_values(1, kLatent, 0.7f), rope = random_values(2, kRope, 2.0f);
  const Stored f32 = round_trip(CacheType::F32, latent, rope);
  EXPECT_EQ(f32.latent, latent);
  EXPECT_EQ(f32.rope, rope);
  const Stored bf16 = round_trip(CacheType::BF16, latent, rope);
  EXPECT_EQ(bf16.latent, bf16_expected(latent));
  EXPECT_EQ(bf16.rope, bf16_expected(rope));
  const Stored fp8 = round_trip(CacheType::FP8, latent, rope);
  EXPECT_EQ(fp8.latent, fp8_expected(latent, true));
  EXPECT_EQ(fp8.rope, bf16_expected(rope));  // FlashMLA keeps the rotary part in BF16
  const Stored q8 = round_trip(CacheType::Q8_0, latent, rope);
  EXPECT_EQ(q8.latent, q8_0_expected(latent));
  EXPECT_EQ(q8.rope, bf16_expected(rope));
  // Not the identity: each lossy type changed the values.
  EXPECT_NE(bf16.latent, latent);
  EXPECT_NE(fp8.latent, latent);
  EXPECT_NE(q8.latent, latent);
}

TEST(LatentCacheTypes, BytesPerPositionAreTheFormats) {
  // DeepSeek-V3: kv_lora 512, rope 64.
  EXPECT_EQ(LatentCache::bytes_per_position(CacheType::F32, 512, 64), 2304u);
  EXPECT_EQ(LatentCache::bytes_per_position(CacheType::BF16, 512, 64), 1152u);
  EXPECT_EQ(LatentCache::bytes_per_position(CacheType::FP8, 512, 64), 656u);  // FlashMLA: 512 + 4·4 + 64·2
  EXPECT_EQ(LatentCache::bytes_per_position(CacheType::Q8_0, 512, 64), 16u * 34u + 128u);
  LatentCache cache(3, 10, 512, 64, CacheType::FP8);
  EXPECT_EQ(cache.bytes(), 3u * 10u * 656u);
}

TEST(LatentCacheTypes, AnAllZeroTileStaysZero) {
  std::vector<float> latent(kLatent, 0.0f), rope(kRope, 0.0f);
  latent[200] = -1.5f;  // only the second tile has a value
  const Stored fp8 = round_trip(CacheType::FP8, latent, rope);
  EXPECT_EQ(fp8.latent, latent);  // -1.5 / (1.5/448) = -448 exactly; zeros stay zeros, no NaN
}

TEST(LatentCacheTypes, Q8_0NeedsAMultipleOf32) {
  try {
    LatentCache cache(1, 4, 48, 16, CacheType::Q8_0);
    FAIL() << "accepted kv_lora_rank 48";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("48"), std::string::npos) << e.what();
  }
}

double relative_rms_error(const std::vector<float>& approx, const std::vector<float>& x) {
  double e = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += (approx[i] - x[i]) * (approx[i] - x[i]);
    norm += x[i] * x[i];
  }
  return std::sqrt(e / norm);
}

// The ablation: E4M3 without the per-128 scale. Within E4M3's normal range [2^-6, 448] the scale
// changes nothing (3 mantissa bits either way: ~2.6% RMS); outside it, it is what keeps the
// latent: small latents (here N(0, 0.004), most below 2^-6, among the subnormals whose step is
// 2^-9) and large ones (N(0, 300): saturated at 448).
TEST(LatentCacheTypes, TheFp8ScalePer128ValuesIsWhatKeepsItAccurate) {
  for (const float sigma : {0.004f, 300.0f}) {
    const std::vector<float> x = random_values(3, 512, sigma);
    const double scaled = relative_rms_error(fp8_expected(x, true), x);
    const double unscaled = relative_rms_error(fp8_expected(x, false), x);
    EXPECT_LT(scaled, 0.04) << sigma;
    EXPECT_GT(unscaled, 5 * scaled) << sigma;
    std::printf("sigma %g: relative RMS error %.4f with the per-128 scale, %.4f without\n", sigma, scaled, unscaled);
  }
  const std::vector<float> x = random_values(4, kLatent, 0.004f);
  EXPECT_EQ(round_trip(CacheType::FP8, x, std::vector<float>(kRope)).latent, fp8_expected(x, true));
}

std::filesystem::path test_model(const char* name) {
  return std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "engine" / name / "model";
}

// mla_attention over a cache of `type`, then the same queries through mla_attend over an F32 cache
// holding the decoded rows: the outputs agree, in the full form (a prefill longer than a decode
// tile) and the absorbed form (one decoded token after it).
void expect_attention_over_decoded_rows(CacheType type) {
  auto model = DeepSeekModel::load_directory(test_model("qlora_sigmoid_groups"), {});
  const ModelConfig& c = model->config();
  const AttentionWeights& w = model->weights().layers[0].attention;
  Workspace ws(model->pool());
  const int64_t n = 80, H = c.hidden_size;
  const int rope_width = c.qk_rope_head_dim * c.rotary_key_heads();
  MlaScratch s;
  s.reserve(c, n, ws.threads());
  LatentCache quantized(1, n + 1, c.kv_lora_rank, rope_width, type);
  LatentCache decoded(1, n + 1, c.kv_lora_rank, rope_width, CacheType::F32);
  LatentCache exact(1, n + 1, c.kv_lora_rank, rope_width, CacheType::F32);
  const std::vector<float> x = random_values(11, (n + 1) * H, 1.0f);
  std::vector<float> out_q(n * H), out_d(n * H), out_exact(n * H);
  std::vector<float> row(c.kv_lora_rank + rope_width);
  const auto copy_row = [&](int64_t p) {
    const float* l = quantized.latents(0, p, 1, row.data());
    std::memcpy(decoded.c_kv(0, p), l, c.kv_lora_rank * sizeof(float));
    const float* r = quantized.rotary_keys(0, p, 1, row.data());
    std::memcpy(decoded.k_pe(0, p), r, rope_width * sizeof(float));
  };
  const auto max_difference = [](const std::vector<float>& a, const std::vector<float>& b, int64_t count) {
    float m = 0;
    for (int64_t i = 0; i < count; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
  };
  mla_attention(ws, c, model->rope(), w, 0, x.data(), n, 0, exact, AttentionForm::Full, s, out_exact.data());
  mla_attention(ws, c, model->rope(), w, 0, x.data(), n, 0, quantized, AttentionForm::Full, s, out_q.data());
  for (int64_t p = 0; p < n; ++p) copy_row(p);
  mla_attend(ws, c, model->rope(), w, 0, n, 0, decoded, AttentionForm::Full, s, out_d.data());
  EXPECT_LE(max_difference(out_q, out_d, n * H), 1e-6f) << cache_type_name(type) << " full form";
  EXPECT_GT(max_difference(out_q, out_exact, n * H), 1e-5f)
      << cache_type_name(type) << ": the cache type changed nothing";

  mla_attention(ws, c, model->rope(), w, 0, x.data() + n * H, 1, n, quantized, AttentionForm::Absorbed, s,
                out_q.data());
  copy_row(n);
  mla_attend(ws, c, model->rope(), w, 0, 1, n, decoded, AttentionForm::Absorbed, s, out_d.data());
  EXPECT_LE(max_difference(out_q, out_d, H), 1e-6f) << cache_type_name(type) << " absorbed form";
}

TEST(LatentCacheTypes, AttentionOverBf16IsAttentionOverItsDecodedRows) {
  expect_attention_over_decoded_rows(CacheType::BF16);
}
TEST(LatentCacheTypes, AttentionOverFp8IsAttentionOverItsDecodedRows) {
  expect_attention_over_decoded_rows(CacheType::FP8);
}
TEST(LatentCacheTypes, AttentionOverQ8_0IsAttentionOverItsDecodedRows) {
  expect_attention_over_decoded_rows(CacheType::Q8_0);
}

struct Divergence {
  double mean = 0, max = 0;
  int agree = 0;  // positions whose argmax is the F32 cache's
};

void log_softmax(std::vector<float>& v) {
  const float m = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (float x : v) sum += std::exp(double(x) - m);
  const float log_sum = m + static_cast<float>(std::log(sum));
  for (float& x : v) x -= log_sum;
}

// KL(P_f32 || P_type) of the next-token distributions along `tokens` (a prompt prefilled in one
// batch, then one token at a time), against the F32 cache's logits `reference` [steps, vocab].
Divergence divergence(const Model& model, CacheType type, const std::vector<int32_t>& prompt,
                      const std::vector<int32_t>& generated, const std::vector<std::vector<float>>& reference) {
  ContextOptions options;
  options.cache_type = type;
  auto ctx = InferenceContext::create(model, static_cast<int>(prompt.size() + generated.size()), options);
  const int64_t vocab = model.config().vocab_size;
  std::vector<float> logits(vocab);
  Divergence d;
  ctx->append(prompt, logits);
  for (size_t step = 0; step < reference.size(); ++step) {
    std::vector<float> p = reference[step], q = logits;
    log_softmax(p);
    log_softmax(q);
    double kl = 0;
    for (int64_t i = 0; i < vocab; ++i) kl += std::exp(double(p[i])) * (double(p[i]) - q[i]);
    d.mean += kl / double(reference.size());
    d.max = std::max(d.max, kl);
    d.agree += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
               std::max_element(reference[step].begin(), reference[step].end()) - reference[step].begin();
    if (step < generated.size()) ctx->append(std::span<const int32_t>(&generated[step], 1), logits);
  }
  return d;
}

// On the bundled model (or DSCHAT_CACHE_KL_MODEL, DSCHAT_CACHE_KL_TOKENS for the measurements of
// docs/benchmarks.md): a greedy run with the F32 cache, then the same tokens through each type.
TEST(LatentCacheTypes, KlDivergenceFromTheF32CacheOverAGreedyRun) {
  const char* model_env = std::getenv("DSCHAT_CACHE_KL_MODEL");
  const char* tokens_env = std::getenv("DSCHAT_CACHE_KL_TOKENS");
  const std::filesystem::path path =
      model_env ? model_env : std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets" / "model";
  const int steps = tokens_env ? std::atoi(tokens_env) : 96;
  auto model = Model::load(path);
  const int64_t vocab = model->config().vocab_size;
  std::vector<int32_t> prompt(32);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  auto ctx = InferenceContext::create(*model, static_cast<int>(prompt.size()) + steps);
  std::vector<float> logits(vocab);
  std::vector<std::vector<float>> reference;
  std::vector<int32_t> generated;
  ctx->append(prompt, logits);
  for (int step = 0; step < steps; ++step) {
    reference.push_back(logits);
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (step + 1 < steps) {
      generated.push_back(next);
      ctx->append(std::span<const int32_t>(&next, 1), logits);
    }
  }
  // Bounds: about 4x the means measured on the bundled model (5.9e-6, 2.0e-3, 3.1e-5: docs/benchmarks.md).
  const struct {
    CacheType type;
    double mean_bound;
  } cases[] = {{CacheType::BF16, 2.5e-5}, {CacheType::FP8, 8e-3}, {CacheType::Q8_0, 1.25e-4}};
  for (const auto& c : cases) {
    const Divergence d = divergence(*model, c.type, prompt, generated, reference);
    std::printf("cache %s: KL mean %.3g max %.3g, argmax agrees %d/%d\n", cache_type_name(c.type), d.mean, d.max,
                d.agree, steps);
    if (!model_env) {
      EXPECT_LT(d.mean, c.mean_bound) << cache_type_name(c.type);
      EXPECT_GT(d.mean, 0.0) << cache_type_name(c.type) << ": identical to the F32 cache";
    }
  }
}

}  // namespace
}  // namespace dschat
