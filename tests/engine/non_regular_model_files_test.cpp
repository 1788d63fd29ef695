// Every model file that is a FIFO, a device or too large is refused at once with a message naming
// it (common/regular_file.h), never a load that blocks forever or ends in std::bad_alloc: config.json,
// model.safetensors, the safetensors index and its shards, a .pt checkpoint and the config.json
// beside it, generation_config.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/deepseek/model_config.h"
#include "engine/io/safetensors_source.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "common/file_limits.h"
#include "tests/common/non_regular_files.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

std::string fifo_message(const fs::path& p) { return p.string() + ": is a FIFO, not a regular file"; }

TEST(NonRegularModelFiles, AFifoConfigJsonIsRefusedAtOnce) {
  test::TempDir dir;
  test::make_fifo(dir / "config.json");
  EXPECT_EQ(test::error_within_a_second([&] { load_model_config(dir / "config.json"); }, dir / "config.json"),
            fifo_message(dir / "config.json"));
  EXPECT_EQ(test::error_within_a_second([&] { Model::load(dir.path()); }, dir / "config.json"),
            fifo_message(dir / "config.json"));
}

TEST(NonRegularModelFiles, ConfigJsonLinkedToDevZeroIsNotARegularFile) {
  test::TempDir dir;
  fs::create_symlink("/dev/zero", dir / "config.json");
  EXPECT_EQ(test::error_within_a_second([&] { load_model_config(dir / "config.json"); }, dir / "config.json"),
            (dir / "config.json").string() + ": is a character device, not a regular file");
}

TEST(NonRegularModelFiles, AnOversizedConfigJsonExceedsItsLimit) {
  test::TempDir dir;
  test::make_sparse_file(dir / "config.json", 65 * kMiB);
  EXPECT_EQ(test::error_within_a_second([&] { load_model_config(dir / "config.json"); }, dir / "config.json"),
            (dir / "config.json").string() + ": is " + std::to_string(65 * kMiB) +
                " bytes, more than the 64 MiB limit for a JSON configuration file");
}

TEST(NonRegularModelFiles, AFifoWeightFileIndexOrShardIsRefusedAtOnce) {
  test::TempDir single;
  test::make_fifo(single / "model.safetensors");
  EXPECT_EQ(test::error_within_a_second([&] { SafetensorsSource::open_directory(single.path()); },
                                        single / "model.safetensors"),
            fifo_message(single / "model.safetensors"));

  test::TempDir indexed;
  test::make_fifo(indexed / "model.safetensors.index.json");
  EXPECT_EQ(test::error_within_a_second([&] { SafetensorsSource::open_directory(indexed.path()); },
                                        indexed / "model.safetensors.index.json"),
            fifo_message(indexed / "model.safetensors.index.json"));

  test::TempDir sharded;
  std::ofstream(sharded / "model.safetensors.index.json") << R"({"weight_map": {"w": "shard-1.safetensors"}})";
  test::make_fifo(sharded / "shard-1.safetensors");
  EXPECT_EQ(test::error_within_a_second([&] { SafetensorsSource::open_directory(sharded.path()); },
                                        sharded / "shard-1.safetensors"),
            fifo_message(sharded / "shard-1.safetensors"));
}

TEST(NonRegularModelFiles, AFifoPtCheckpointOrConfigBesideItIsRefusedAtOnce) {
  test::TempDir dir;
  test::make_fifo(dir / "model.pt");
  EXPECT_EQ(test::error_within_a_second([&] { Model::load(dir / "model.pt"); }, dir / "model.pt"),
            fifo_message(dir / "model.pt"));

  fs::copy_file(fs::path(DSCHAT_TEST_DATA_DIR) / "pt" / "mayank" / "model.pt", dir / "real.pt");
  test::make_fifo(dir / "config.json");
  EXPECT_EQ(test::error_within_a_second([&] { Model::load(dir / "real.pt"); }, dir / "config.json"),
            fifo_message(dir / "config.json"));
}

TEST(NonRegularModelFiles, AFifoGenerationConfigIsRefusedAtOnce) {
  test::TempDir dir;
  test::make_fifo(dir / "generation_config.json");
  EXPECT_EQ(test::error_within_a_second([&] { load_sampling_defaults(dir.path()); }, dir / "generation_config.json"),
            fifo_message(dir / "generation_config.json"));
}

}  // namespace
}  // namespace dschat
