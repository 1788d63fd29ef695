// The display name of a model (app/backend/model_identity.h): dschat.json, then GGUF general.name,
// then config.json _name_or_path, then the resolved directory or file name (never "." or "").
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/backend/loaded_model.h"
#include "app/backend/model_identity.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "dschat-identity-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

// Changes the working directory for the scope of the object.
struct InDirectory {
  fs::path previous = fs::current_path();
  explicit InDirectory(const fs::path& dir) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(previous); }
};

TEST(ModelIdentity, RelativePathsAreResolvedToTheDirectoryName) {
  TempDir tmp;
  fs::create_directories(tmp.path / "foo" / "sub");
  write(tmp.path / "foo" / "config.json", "{}");
  InDirectory in(tmp.path / "foo");
  EXPECT_EQ(model_identity(".").display_name, "foo");
  EXPECT_EQ(model_identity("./").display_name, "foo");
  EXPECT_EQ(model_identity("sub/..").display_name, "foo");
  EXPECT_EQ(model_identity(tmp.path / "foo" / "").display_name, "foo");
  EXPECT_EQ(model_identity("sub").display_name, "sub");
  EXPECT_EQ(model_identity(".").notice, "");
}

TEST(ModelIdentity, FilesAreNamedWithoutTheirExtensionOrByTheirEmbeddedName) {
  TempDir tmp;
  write(tmp.path / "tiny-v3.pt", "");
  InDirectory in(tmp.path);
  EXPECT_EQ(model_identity("tiny-v3.pt").display_name, "tiny-v3");
  EXPECT_EQ(model_identity("tiny-v3.pt", "DeepSeek V3 Tiny").display_name, "DeepSeek V3 Tiny");
  EXPECT_EQ(model_identity("tiny-v3.pt", "\x1b]0;pwned\x07").display_name, "]0;pwned");  // no escapes
}

TEST(ModelIdentity, ConfigNameOrPathThenDschatJson) {
  TempDir tmp;
  const fs::path dir = tmp.path / "model";
  fs::create_directories(dir);
  write(dir / "config.json", R"({"_name_or_path": "deepseek-ai/DeepSeek-V3", "model_type": "deepseek_v3"})");
  EXPECT_EQ(model_identity(dir).display_name, "DeepSeek-V3");
  write(dir / "config.json", R"({"_name_or_path": "/tmp/checkpoints/run7/"})");
  EXPECT_EQ(model_identity(dir).display_name, "run7");
  write(dir / "config.json", R"({"_name_or_path": ""})");
  EXPECT_EQ(model_identity(dir).display_name, "model");
  write(dir / "config.json", "not json");  // the model loader reports it, not the name
  EXPECT_EQ(model_identity(dir).display_name, "model");
  write(dir / "dschat.json", R"({"name": "my model", "notice": "hello"})");
  EXPECT_EQ(model_identity(dir).display_name, "my model");
  EXPECT_EQ(model_identity(dir).notice, "hello");
  write(dir / "dschat.json", std::string(R"({"name": ")") + std::string(100, 'x') + "\"}");
  EXPECT_EQ(model_identity(dir).display_name, std::string(64, 'x'));
  write(dir / "dschat.json", R"({"name": 7})");
  EXPECT_THROW(model_identity(dir), ModelError);
  write(dir / "dschat.json", "[]");
  EXPECT_THROW(model_identity(dir), ModelError);
}

TEST(ModelIdentity, GgufGeneralNameIsTheDisplayName) {
  // general.name as llama.cpp's convert_hf_to_gguf.py wrote it (tests/data/gguf, tools/).
  auto loaded = LoadedModel::load(fs::path(DSCHAT_TEST_DATA_DIR) / "gguf" / "v3_qlora.F32.gguf");
  EXPECT_EQ(loaded->identity.display_name, "V3_Qlora_Hf");
}

TEST(ModelIdentity, TheBundledModelSaysWhatItIs) {
  const ModelIdentity identity = model_identity(fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model");
  EXPECT_EQ(identity.display_name, "kjv-demo");
  EXPECT_NE(identity.notice.find("King James Bible"), std::string::npos) << identity.notice;
  EXPECT_NE(identity.notice.find("--model PATH"), std::string::npos) << identity.notice;
  EXPECT_EQ(identity.notice.find('\n'), std::string::npos);  // one line
}

}  // namespace
}  // namespace dschat
