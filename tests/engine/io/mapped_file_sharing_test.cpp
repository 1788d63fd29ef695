// Two MappedFiles of one file share one mapping (engine/io/mapped_file.h), so reading the weights a
// second time (the NaN scan after a load, a reload) adds no resident memory; a replaced or
// resized file gets a mapping of its own, and the last owner unmaps.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/io/mapped_file.h"
#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"
#include "tests/engine/resident_memory.h"

namespace dschat {
namespace {

void write_file(const std::filesystem::path& path, std::size_t bytes, char fill) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string block(bytes, fill);
  out.write(block.data(), static_cast<std::streamsize>(block.size()));
}

TEST(MappedFileSharing, SecondOpenSharesTheMappingAndItsResidentPages) {
  test::TempDir dir;
  const auto file = dir / "weights.bin";
  write_file(file, 4 << 20, 'a');
  auto first = std::make_unique<MappedFile>(file);
  prefetch_pages(first->data(), first->size());
  const uint64_t resident = test::resident_bytes_of(file);
  EXPECT_EQ(resident, first->size());
  {
    MappedFile second(file);
    EXPECT_EQ(second.data(), first->data());
    EXPECT_EQ(second.size(), first->size());
    prefetch_pages(second.data(), second.size());
    EXPECT_EQ(test::mappings_of(file).count, 1);
    EXPECT_EQ(test::resident_bytes_of(file), resident);  // not twice
  }
  // The first owner still reads its bytes after the second is gone; the last one unmaps.
  EXPECT_EQ(static_cast<char>(first->data()[first->size() - 1]), 'a');
  first.reset();
  EXPECT_EQ(test::mappings_of(file).count, 0);
}

TEST(MappedFileSharing, AReplacedOrResizedFileGetsAMappingOfItsOwn) {
  test::TempDir dir;
  const auto file = dir / "weights.bin";
  write_file(file, 64 << 10, 'a');
  MappedFile old_file(file);

  // Replaced by rename (how tools write files): a new inode, a new mapping; the old one is kept.
  write_file(dir / "new.bin", 64 << 10, 'b');
  std::filesystem::rename(dir / "new.bin", file);
  MappedFile replaced(file);
  EXPECT_NE(replaced.data(), old_file.data());
  EXPECT_EQ(static_cast<char>(replaced.data()[0]), 'b');
  EXPECT_EQ(static_cast<char>(old_file.data()[0]), 'a');

  // Grown in place: same inode, another size, another mapping that covers the new bytes.
  {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << "tail";
  }
  MappedFile grown(file);
  EXPECT_NE(grown.data(), replaced.data());
  ASSERT_EQ(grown.size(), replaced.size() + 4);
  EXPECT_EQ(std::memcmp(grown.data() + replaced.size(), "tail", 4), 0);
}

TEST(MappedFileSharing, AMappingWithZeroPagesFromAShrunkFileIsNotShared) {
  test::TempDir dir;
  const auto file = dir / "weights.bin";
  write_file(file, 64 << 10, 'a');
  MappedFile shrunk(file);
  std::filesystem::resize_file(file, 0);  // cut under the mapping: the SIGBUS handler zero-fills
  const uint64_t faulted = MappedFile::faulted_pages();
  EXPECT_EQ(static_cast<char>(shrunk.data()[0]), '\0');
  EXPECT_EQ(MappedFile::faulted_pages(), faulted + 1);

  write_file(file, 64 << 10, 'b');  // the same inode, back to the same size
  MappedFile fresh(file);
  EXPECT_NE(fresh.data(), shrunk.data());
  EXPECT_EQ(static_cast<char>(fresh.data()[0]), 'b');
}

// Backdates a file's modification time, as for weights downloaded a while ago: a write in the
// same clock tick as the file's creation (a few ms here) could leave it unchanged.
void backdate(const std::filesystem::path& file) {
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) - std::chrono::hours(1));
}

TEST(MappedFileSharing, AFileWrittenInPlaceIsReportedAndGetsAMappingOfItsOwn) {
  test::TempDir dir;
  const auto file = dir / "weights.bin";
  write_file(file, 64 << 10, 'a');
  backdate(file);
  auto old_file = std::make_unique<MappedFile>(file);
  EXPECT_EQ(MappedFile::changed_file(), std::filesystem::path());

  {  // the same size, the same inode, new bytes: no fault, the mapping just shows them
    std::fstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(100);
    out << 'b';
  }
  EXPECT_EQ(static_cast<char>(old_file->data()[100]), 'b');
  EXPECT_EQ(MappedFile::changed_file(), file);

  MappedFile fresh(file);  // not the mapping whose owner computed with the old bytes
  EXPECT_NE(fresh.data(), old_file->data());
  EXPECT_EQ(MappedFile::changed_file(), file);  // its owner is still told
  old_file.reset();
  EXPECT_EQ(MappedFile::changed_file(), std::filesystem::path());  // the fresh one maps the file as it is
  EXPECT_EQ(MappedFile::changed_file_since_start(), file);         // for a command's final check
}

TEST(MappedFileSharing, AFileReplacedByRenameOrDeletedIsNotAChange) {
  test::TempDir dir;
  const auto file = dir / "weights.bin";
  write_file(file, 64 << 10, 'a');
  backdate(file);
  MappedFile mapped(file);
  write_file(dir / "new.bin", 64 << 10, 'b');
  std::filesystem::rename(dir / "new.bin", file);  // the mapped inode is untouched
  EXPECT_EQ(MappedFile::changed_file(), std::filesystem::path());
  std::filesystem::remove(file);
  EXPECT_EQ(MappedFile::changed_file(), std::filesystem::path());
  EXPECT_EQ(static_cast<char>(mapped.data()[0]), 'a');
}

TEST(MappedFileSharing, TwoModelsOfOneDirectoryShareTheirWeights) {
  test::TempDir dir;
  test::write_random_model(dir.path(), test::small_config());
  auto a = Model::load(dir.path());
  auto b = Model::load(dir.path());
  EXPECT_EQ(test::mappings_of(dir / "model.safetensors").count, 1);
  a.reset();
  EXPECT_EQ(test::mappings_of(dir / "model.safetensors").count, 1);  // b still uses it
  b.reset();
  EXPECT_EQ(test::mappings_of(dir / "model.safetensors").count, 0);
}

}  // namespace
}  // namespace dschat
