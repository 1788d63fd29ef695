// The latent cache costs memory for the positions written, not for its capacity: a context of a
// million tokens on a small model raises the resident size by far less than its zero-filled
// size would, keeps reading zeros where nothing was written, and still computes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "engine/deepseek/latent_cache.h"
#include "engine/model.h"

namespace dschat {
namespace {

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST(LatentCache, MemoryIsCommittedByWhatIsWritten) {
  const uint64_t before = resident_bytes();
  LatentCache cache(8, 1 << 20, 512, 64);  // 8 layers x 1M positions: 18 GiB if zero-filled
  EXPECT_EQ(cache.bytes(), uint64_t{8} * (1 << 20) * (512 + 64) * 4);
  for (int layer = 0; layer < 8; ++layer) {
    for (int p = 0; p < 100; ++p) cache.c_kv(layer, p)[0] = 1.0f;
  }
  EXPECT_EQ(cache.c_kv(7, (1 << 20) - 1)[511], 0.0f);
  EXPECT_EQ(cache.k_pe(3, 12345)[63], 0.0f);
  EXPECT_LT(resident_bytes() - before, uint64_t{64} << 20);
}

TEST(LatentCache, AHugeContextOfASmallModelRuns) {
  const std::filesystem::path model_dir =
      std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "engine" / "qlora_sigmoid_groups" / "model";
  auto model = Model::load(model_dir);
  const uint64_t before = resident_bytes();
  auto context = InferenceContext::create(*model, 1 << 20);
  std::vector<int32_t> ids = {1, 2, 3};
  std::vector<float> logits(model->config().vocab_size);
  ASSERT_TRUE(context->append(ids, logits));
  ASSERT_TRUE(context->append(std::span(ids).subspan(0, 1), logits));
  EXPECT_EQ(context->size(), 4);
  EXPECT_LT(resident_bytes() - before, uint64_t{64} << 20);
}

}  // namespace
}  // namespace dschat
