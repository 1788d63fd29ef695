// Model::load prefetches the mapped weights (engine/deepseek/model_weights.h prefetch_weights): when the
// progress callback reports N bytes, at least N bytes of the weight file are resident in this
// process (read from /proc/self/smaps), and at 100% all of them are, so the first token takes no
// page faults. Progress starts at 0, never goes back, and ends at the weight bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"
#include "tests/engine/resident_memory.h"

namespace dschat {
namespace {

// The bundled model's config and weights in a directory of their own (so no other mapping of
// the same file is counted).
void copy_bundled_model(const std::filesystem::path& to) {
  const std::filesystem::path from = std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets/model";
  for (const char* name : {"config.json", "model.safetensors"}) std::filesystem::copy_file(from / name, to / name);
}

TEST(WeightPrefetch, ReportedBytesAreResidentAndAllAreAtTheEnd) {
  test::TempDir dir;
  copy_bundled_model(dir.path());
  const std::filesystem::path weights = dir / "model.safetensors";
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  uint64_t lagging = 0;  // reports of more bytes than were resident
  LoadOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    calls.emplace_back(done, total);
    if (test::resident_bytes_of(weights) < done) ++lagging;
    return true;
  };
  auto model = Model::load(dir.path(), options);
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls.front().first, 0u);
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_GE(calls[i].first, calls[i - 1].first);
    EXPECT_EQ(calls[i].second, calls.front().second);
  }
  EXPECT_EQ(calls.back().first, calls.back().second);
  EXPECT_EQ(calls.back().second, model->weight_bytes());
  EXPECT_EQ(lagging, 0u);
  // Everything bound is resident once the load returns (the file also holds a header and the
  // ignored multi-token-prediction layer, so it may be more).
  EXPECT_GE(test::resident_bytes_of(weights), model->weight_bytes());
}

TEST(WeightPrefetch, PrefetchPagesMakesAMappedRangeResident) {
  test::TempDir dir;
  const std::filesystem::path file = dir / "data.bin";
  {
    std::ofstream out(file, std::ios::binary);
    std::vector<char> block(1 << 20, 'x');
    for (int i = 0; i < 16; ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  MappedFile mapped(file);
  const uint64_t before = test::resident_bytes_of(file);
  EXPECT_LT(before, 1u << 20);  // nothing read yet
  // An unaligned 2 MB range in the middle of 16 MiB: it becomes resident, and not the whole file
  // (the kernel maps whole page-cache folios, which may be larger than a page).
  prefetch_pages(mapped.data() + 6'100'000, 2'000'000);
  const uint64_t after = test::resident_bytes_of(file);
  EXPECT_GE(after, 2'000'000u);
  EXPECT_LE(after, 8u << 20);
  prefetch_pages(mapped.data(), mapped.size());
  EXPECT_EQ(test::resident_bytes_of(file), mapped.size());
}

}  // namespace
}  // namespace dschat
