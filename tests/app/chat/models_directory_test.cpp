// The models directory (app/chat/models_directory.h): which entries are models, their format and
// size, and what --model NAME resolves to.
#include "app/chat/models_directory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

void write_bytes(const fs::path& path, size_t n) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << std::string(n, 'x');
}

class ModelsDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_ / "models";
    write_bytes(dir_ / "tiny-hf" / "config.json", 100);
    write_bytes(dir_ / "tiny-hf" / "model.safetensors", 5000);
    write_bytes(dir_ / "sharded" / "config.json", 10);
    write_bytes(dir_ / "sharded" / "model.safetensors.index.json", 20);
    write_bytes(dir_ / "quant.gguf", 3000);
    write_bytes(dir_ / "variant.pt", 700);
    write_bytes(dir_ / "notes.txt", 5);                      // not a model
    write_bytes(dir_ / "no-config" / "model.safetensors", 5);  // no config.json: not a model
    write_bytes(tmp_ / "elsewhere" / "config.json", 1);
    write_bytes(tmp_ / "elsewhere" / "model.safetensors", 2);
    fs::create_directory_symlink(tmp_ / "elsewhere", dir_ / "linked");  // as one links a Hugging Face cache
    fs::create_symlink(tmp_ / "gone.gguf", dir_ / "dangling.gguf");
  }
  test::TempDir tmp_;
  fs::path dir_;
};

TEST_F(ModelsDirectory, ListsModelsByNameWithFormatAndSize) {
  const std::vector<ModelEntry> models = list_models(dir_);
  ASSERT_EQ(models.size(), 5u);
  auto expect = [&](size_t i, const std::string& name, const std::string& format, uint64_t bytes) {
    EXPECT_EQ(models[i].name, name);
    EXPECT_EQ(models[i].format, format) << name;
    EXPECT_EQ(models[i].bytes, bytes) << name;
  };
  expect(0, "linked", "safetensors", 3);
  expect(1, "quant", "gguf", 3000);
  expect(2, "sharded", "safetensors", 30);
  expect(3, "tiny-hf", "safetensors", 5100);
  expect(4, "variant", "pt", 700);
  // When it last changed: its newest file's time (written just now), for a directory too.
  for (const ModelEntry& m : models) {
    const auto age = fs::file_time_type::clock::now() - m.modified;
    EXPECT_LT(std::chrono::abs(age), std::chrono::hours(1)) << m.name;
  }
  EXPECT_TRUE(list_models(tmp_ / "nothing-here").empty());
}

TEST_F(ModelsDirectory, ModelNamesResolveInTheDirectoryAndPathsStayPaths) {
  EXPECT_EQ(resolve_model_argument("tiny-hf", dir_), dir_ / "tiny-hf");
  EXPECT_EQ(resolve_model_argument("quant", dir_), dir_ / "quant.gguf");
  EXPECT_EQ(resolve_model_argument("quant.gguf", dir_), dir_ / "quant.gguf");
  EXPECT_EQ(resolve_model_argument("variant", dir_), dir_ / "variant.pt");
  EXPECT_EQ(resolve_model_argument("linked", dir_), dir_ / "linked");
  // Not a model there: left as given, so the load names what the user typed.
  EXPECT_EQ(resolve_model_argument("notes.txt", dir_), fs::path("notes.txt"));
  EXPECT_EQ(resolve_model_argument("missing", dir_), fs::path("missing"));
  // A path is a path: with a '/', or something that exists where it points.
  EXPECT_EQ(resolve_model_argument("./tiny-hf", dir_), fs::path("./tiny-hf"));
  EXPECT_EQ(resolve_model_argument((tmp_ / "elsewhere").string(), dir_), tmp_ / "elsewhere");
  EXPECT_EQ(resolve_model_argument(".", dir_), fs::path("."));
  const char* home = std::getenv("HOME");
  if (home && *home) {
    EXPECT_EQ(resolve_model_argument("~/m", dir_), fs::path(home) / "m");
  }
}

TEST(ModelsDirectoryPath, LivesUnderXdgDataHome) {
  const char* old = std::getenv("XDG_DATA_HOME");
  const std::string saved = old ? old : "";
  ::setenv("XDG_DATA_HOME", "/tmp/xdg-data", 1);
  EXPECT_EQ(default_models_dir(), fs::path("/tmp/xdg-data/dschat/models"));
  if (old) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else ::unsetenv("XDG_DATA_HOME");
}

}  // namespace
}  // namespace dschat
