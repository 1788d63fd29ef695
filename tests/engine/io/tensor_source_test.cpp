// The two TensorSource implementations answer alike for the same tensors: the contiguous tensors
// of the views .pt (tests/data/pt/views: every dtype, a scalar, an empty one) copied into a
// safetensors file are found, listed and measured the same way through both; the non-contiguous
// views keep their strides; and a file written in place is reported by its source.
#include "engine/io/tensor_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

#include "engine/io/pt_tensor_source.h"
#include "engine/io/safetensors_source.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using test::TempDir;

const std::filesystem::path kViewsPt = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt" / "views" / "model.pt";

// A copy of the views .pt and a model.safetensors holding its contiguous tensors, byte for byte,
// both dated an hour back (so that a write in place changes their modification time).
struct SameTensorsInBothFormats {
  TempDir dir;
  std::filesystem::path pt = dir / "views.pt";
  std::filesystem::path safetensors = dir / "model.safetensors";

  SameTensorsInBothFormats() {
    std::filesystem::copy_file(kViewsPt, pt);
    PtCheckpoint ckpt(pt);
    nlohmann::json header = nlohmann::json::object();
    std::vector<std::byte> data;
    for (const PtTensor& t : ckpt.tensors()) {
      if (!t.is_contiguous()) continue;
      const uint64_t bytes = static_cast<uint64_t>(t.element_count()) * dtype_size(t.dtype);
      header[t.name] = {
          {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + bytes}}};
      data.insert(data.end(), t.data, t.data + bytes);
      data.resize((data.size() + 7) / 8 * 8);  // each tensor 8-byte aligned
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    test::write_raw_safetensors(safetensors, text, data);
    for (const auto& file : {pt, safetensors}) {
      std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) - std::chrono::hours(1));
    }
  }
};

std::vector<std::string> sorted_names(const std::vector<const TensorInfo*>& tensors) {
  std::vector<std::string> names;
  for (const TensorInfo* t : tensors) names.push_back(t->name);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TensorSource, SafetensorsAndPtAnswerAlikeForTheSameTensors) {
  SameTensorsInBothFormats files;
  PtTensorSource pt(files.pt);
  auto safetensors = SafetensorsSource::open_directory(files.dir.path());

  std::vector<const TensorInfo*> contiguous;
  for (const TensorInfo* t : pt.tensors()) {
    if (t->stride.empty()) contiguous.push_back(t);
  }
  EXPECT_EQ(contiguous.size(), 11u);
  EXPECT_EQ(sorted_names(safetensors->tensors()), sorted_names(contiguous));
  uint64_t contiguous_bytes = 0;
  for (const TensorInfo* p : contiguous) {
    SCOPED_TRACE(p->name);
    const TensorInfo* s = safetensors->find(p->name);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(pt.find(p->name), p);
    EXPECT_EQ(s->dtype, p->dtype);
    EXPECT_EQ(s->shape, p->shape);
    EXPECT_TRUE(s->stride.empty());
    ASSERT_EQ(s->nbytes, p->nbytes);
    if (p->nbytes > 0) {
      EXPECT_EQ(std::memcmp(s->data, p->data, p->nbytes), 0);
    }
    EXPECT_EQ(s->file, files.safetensors.string());
    EXPECT_EQ(p->file, files.pt.string());
    contiguous_bytes += p->nbytes;
  }
  EXPECT_EQ(safetensors->total_bytes(), contiguous_bytes);
  EXPECT_EQ(pt.find("nope"), nullptr);
  EXPECT_EQ(safetensors->find("nope"), nullptr);

  // One file each: its path, which is also what errors call the checkpoint.
  EXPECT_EQ(pt.files(), std::vector<std::filesystem::path>{files.pt});
  EXPECT_EQ(safetensors->files(), std::vector<std::filesystem::path>{files.safetensors});
  EXPECT_EQ(pt.label(), files.pt.string());
  EXPECT_EQ(safetensors->label(), files.safetensors.string());
  EXPECT_TRUE(pt.warnings().empty());
  EXPECT_TRUE(safetensors->warnings().empty());
  EXPECT_EQ(pt.changed(), std::nullopt);
  EXPECT_EQ(safetensors->changed(), std::nullopt);
}

TEST(TensorSource, PtTensorsAreListedInStateDictOrderAndViewsKeepTheirStrides) {
  PtTensorSource pt(kViewsPt);
  ASSERT_EQ(pt.tensors().size(), pt.checkpoint().tensors().size());
  for (size_t i = 0; i < pt.tensors().size(); ++i) EXPECT_EQ(pt.tensors()[i]->name, pt.checkpoint().tensors()[i].name);
  const TensorInfo* transposed = pt.find("transposed");
  ASSERT_NE(transposed, nullptr);
  EXPECT_EQ(transposed->stride, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(transposed->nbytes, 30u * 4);  // the 30 elements it reaches
  EXPECT_EQ(pt.find("every_other")->stride, (std::vector<int64_t>{10, 2}));
  EXPECT_TRUE(pt.find("rows_2_to_4")->stride.empty());
  EXPECT_EQ(pt.find("rows_2_to_4")->data, pt.find("base")->data + 10 * 4);  // a view, not a copy
}

TEST(TensorSource, PtBytesOwnedByTheCallerHaveNoFiles) {
  std::ifstream in(kViewsPt, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  PtTensorSource pt(bytes, "in-memory.pt");
  EXPECT_EQ(pt.label(), "in-memory.pt");
  EXPECT_TRUE(pt.files().empty());
  EXPECT_EQ(pt.find("base")->file, "in-memory.pt");
  EXPECT_EQ(pt.changed(), std::nullopt);
}

void flip_last_byte(const std::filesystem::path& file) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(-1, std::ios::end);
  const char byte = static_cast<char>(f.get() ^ 0x40);
  f.seekp(-1, std::ios::end);
  f.put(byte);
}

TEST(TensorSource, AFileWrittenInPlaceIsReportedByItsSourceOnly) {
  SameTensorsInBothFormats files;
  PtTensorSource pt(files.pt);
  auto safetensors = SafetensorsSource::open_directory(files.dir.path());
  flip_last_byte(files.safetensors);
  EXPECT_EQ(safetensors->changed(), files.safetensors.string() + " was modified in place");
  EXPECT_EQ(pt.changed(), std::nullopt);
  flip_last_byte(files.pt);
  EXPECT_EQ(pt.changed(), files.pt.string() + " was modified in place");
}

}  // namespace
}  // namespace dschat
