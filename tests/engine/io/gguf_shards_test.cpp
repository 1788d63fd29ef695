// A GGUF model split by llama.cpp's llama-gguf-split (tests/data/gguf/split/, made by
// tools/make_gguf_split_goldens.sh from v3_qlora.Q8_0.gguf) opens from its first shard with the
// same tensors, byte for byte, as the one file; shards that do not belong together are clear
// errors (small shards written here with GgufWriter).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "engine/io/gguf_shards.h"
#include "engine/io/gguf_writer.h"
#include "engine/io/model_error.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";
const fs::path kFirst = kDir / "split" / "v3_qlora.Q8_0-00001-of-00003.gguf";

std::string error_of(const fs::path& path) {
  try {
    GgufShards shards(path);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GgufShards, ASplitByLlamaCppHasTheOneFilesTensorsByteForByte) {
  const GgufShards shards(kFirst);
  const GgufFile whole(kDir / "v3_qlora.Q8_0.gguf");
  ASSERT_EQ(shards.files().size(), 3u);
  EXPECT_EQ(shards.files()[2]->path(), kDir / "split" / "v3_qlora.Q8_0-00003-of-00003.gguf");
  ASSERT_EQ(shards.tensors().size(), whole.tensors().size());
  std::set<const GgufFile*> holding;
  for (const GgufTensor& t : whole.tensors()) {
    const GgufShards::Tensor* s = shards.find_tensor(t.name);
    ASSERT_NE(s, nullptr) << t.name;
    holding.insert(s->file);
    EXPECT_EQ(s->tensor->ne, t.ne) << t.name;
    EXPECT_EQ(s->tensor->type, t.type) << t.name;
    ASSERT_EQ(s->tensor->nbytes, t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(s->file->tensor_data(*s->tensor), whole.tensor_data(t), t.nbytes), 0) << t.name;
  }
  EXPECT_EQ(holding.size(), 3u);  // every shard holds some
  // The model's metadata is the first shard's.
  ASSERT_NE(shards.first().find("general.architecture"), nullptr);
  EXPECT_EQ(shards.first().find("general.architecture")->string_value, "deepseek2");
  EXPECT_EQ(shards.files()[1]->find("general.architecture"), nullptr);
}

TEST(GgufShards, AOneFileModelIsOneShard) {
  const GgufShards shards(kDir / "v3_qlora.Q8_0.gguf");
  EXPECT_EQ(shards.files().size(), 1u);
  EXPECT_EQ(shards.tensors().size(), shards.first().tensors().size());
  EXPECT_EQ(shards.find_tensor("no.such.tensor"), nullptr);
}

TEST(GgufShards, ALaterShardOrAMissingOneIsAClearError) {
  EXPECT_NE(error_of(kDir / "split" / "v3_qlora.Q8_0-00002-of-00003.gguf")
                .find("this is shard 2 of 3 (key 'split.no'); open the model from its first shard, " + kFirst.string()),
            std::string::npos);
  const fs::path dir = fs::temp_directory_path() / ("dschat_shards_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy_file(kFirst, dir / "m-00001-of-00003.gguf");
  fs::copy_file(kDir / "split" / "v3_qlora.Q8_0-00002-of-00003.gguf", dir / "m-00002-of-00003.gguf");
  EXPECT_NE(error_of(dir / "m-00001-of-00003.gguf")
                .find("shard 3 of 3 is missing: " + (dir / "m-00003-of-00003.gguf").string()),
            std::string::npos);
  fs::copy_file(kDir / "split" / "v3_qlora.Q8_0-00002-of-00003.gguf",
                dir / "second.gguf");  // renamed: no first to name
  EXPECT_NE(error_of(dir / "second.gguf").find("open the model from its first shard, PREFIX-00001-of-00003.gguf"),
            std::string::npos);
  fs::copy_file(kFirst, dir / "renamed.gguf");
  EXPECT_NE(error_of(dir / "renamed.gguf")
                .find("a model split in 3 shards opens from its first, named PREFIX-00001-of-00003.gguf"),
            std::string::npos);
  fs::remove_all(dir);
}

// Shards of one F32 tensor each, with the split keys given.
struct Shard {
  int64_t no, count, tensors_count;  // tensors_count < 0: no split.tensors.count
  std::string tensor;
};

void write_shard(const fs::path& path, const Shard& s) {
  GgufWriter w(path);
  w.add_metadata("split.no", gguf_u32(static_cast<uint32_t>(s.no)));
  w.add_metadata("split.count", gguf_u32(static_cast<uint32_t>(s.count)));
  if (s.tensors_count >= 0) w.add_metadata("split.tensors.count", gguf_i32(static_cast<int32_t>(s.tensors_count)));
  w.add_tensor(s.tensor, {4}, *ggml_type(0));
  w.write_header();
  const float v[4] = {1, 2, 3, 4};
  w.write_data(v, sizeof v);
  w.commit();
}

std::string error_of_pair(const Shard& a, const Shard& b) {
  const fs::path dir = fs::temp_directory_path() / ("dschat_shard_pair_" + std::to_string(getpid()));
  fs::create_directories(dir);
  write_shard(dir / "m-00001-of-00002.gguf", a);
  write_shard(dir / "m-00002-of-00002.gguf", b);
  std::string e = error_of(dir / "m-00001-of-00002.gguf");
  const std::string prefix = dir.string() + "/";
  for (size_t at; (at = e.find(prefix)) != std::string::npos;) e.erase(at, prefix.size());
  fs::remove_all(dir);
  return e;
}

TEST(GgufShards, ShardsThatDoNotBelongTogetherAreClearErrors) {
  EXPECT_EQ(error_of_pair({0, 2, 2, "a"}, {1, 2, -1, "b"}), "(no error)");
  EXPECT_EQ(error_of_pair({0, 2, 2, "a"}, {0, 2, -1, "b"}),
            "m-00002-of-00002.gguf: not shard 2 of 2 of m-00001-of-00002.gguf (its split.no is 0, split.count 2)");
  EXPECT_EQ(error_of_pair({0, 2, 2, "a"}, {1, 3, -1, "b"}),
            "m-00002-of-00002.gguf: not shard 2 of 2 of m-00001-of-00002.gguf (its split.no is 1, split.count 3)");
  EXPECT_EQ(error_of_pair({0, 2, 2, "a"}, {1, 2, -1, "a"}),
            "m-00002-of-00002.gguf: tensor 'a' is also in m-00001-of-00002.gguf");
  EXPECT_EQ(error_of_pair({0, 2, 3, "a"}, {1, 2, -1, "b"}),
            "m-00001-of-00002.gguf: key 'split.tensors.count' says 3 tensors, the 2 shards hold 2");
  EXPECT_EQ(error_of_pair({0, 70000, 2, "a"}, {1, 2, -1, "b"}),
            "m-00001-of-00002.gguf: key 'split.count' is 70000 (at most 65535 shards)");
  EXPECT_EQ(error_of_pair({0, 0, 2, "a"}, {1, 2, -1, "b"}), "(no error)");  // 0: one file, as llama.cpp reads it
}

}  // namespace
}  // namespace dschat
