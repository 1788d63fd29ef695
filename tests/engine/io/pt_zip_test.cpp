// The zip reader against what Python's zipfile saw in the same files (manifest.json, written
// by tools/pt_variants/make_cases.py): names, sizes and CRC-32 of every entry's bytes.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/io/pt_zip.h"

namespace dschat {
namespace {

const std::filesystem::path kPtData = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt";

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

uint32_t crc32(std::span<const std::byte> bytes) {  // IEEE 802.3, as zip stores it
  uint32_t crc = 0xffffffffu;
  for (std::byte b : bytes) {
    crc ^= std::to_integer<uint32_t>(b);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void expect_matches_python(const std::string& name_of_case) {
  auto bytes = read_bytes(kPtData / name_of_case / "model.pt");
  auto manifest = read_json(kPtData / name_of_case / "manifest.json");
  ZipArchive zip(bytes, name_of_case);
  ASSERT_EQ(zip.entries().size(), manifest["entries"].size());
  for (const auto& expected : manifest["entries"]) {
    const ZipEntry* e = zip.find(expected["name"].get<std::string>());
    ASSERT_NE(e, nullptr) << expected["name"];
    auto data = zip.read(*e);
    EXPECT_EQ(data.size(), expected["size"].get<uint64_t>()) << e->name;
    EXPECT_EQ(crc32(data), expected["crc32"].get<uint32_t>()) << e->name;
  }
}

TEST(PtZip, ReadsTorchSaveArchivesLikePythonZipfile) {
  expect_matches_python("mayank");
  expect_matches_python("era");
  expect_matches_python("views");
}

TEST(PtZip, KeepsTheSaveTimeStemAsFolder) {
  auto bytes = read_bytes(kPtData / "mayank" / "model.pt");
  ZipArchive zip(bytes, "mayank");
  EXPECT_NE(zip.find("best_deepseek_v3/data.pkl"), nullptr);
  EXPECT_NE(zip.find("best_deepseek_v3/version"), nullptr);
  EXPECT_EQ(zip.find("model/data.pkl"), nullptr);
}

TEST(PtZip, StorageEntriesAre64ByteAlignedInTorchFiles) {
  auto bytes = read_bytes(kPtData / "era" / "model.pt");
  ZipArchive zip(bytes, "era");
  int storages = 0;
  for (const ZipEntry& e : zip.entries()) {
    if (e.name.find("/data/") == std::string::npos) continue;
    ++storages;
    EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
  }
  EXPECT_GT(storages, 10);
}

// The offsets where one zip structure ends and the next begins, from the parsed archive.
std::vector<uint64_t> section_boundaries(const ZipArchive& zip, uint64_t file_size) {
  std::vector<uint64_t> cuts = {0, 1, 4, 22, file_size - 22, file_size - 42, file_size - 1};
  for (const ZipEntry& e : zip.entries()) {
    for (uint64_t at : {e.local_header_offset, e.local_header_offset + 4, e.local_header_offset + 30,
                        e.data_offset, e.data_offset + e.size / 2, e.data_offset + e.size}) {
      cuts.push_back(at);
      cuts.push_back(at + 1);
      if (at > 0) cuts.push_back(at - 1);
    }
  }
  return cuts;
}

TEST(PtZip, EveryTruncationIsAClearError) {
  for (const char* name : {"mayank", "views"}) {
    auto bytes = read_bytes(kPtData / name / "model.pt");
    ZipArchive whole(bytes, name);
    auto cuts = section_boundaries(whole, bytes.size());
    for (uint64_t cut = 0; cut < bytes.size(); cut += 4099) cuts.push_back(cut);
    for (uint64_t cut = bytes.size() > 300 ? bytes.size() - 300 : 0; cut < bytes.size(); ++cut) cuts.push_back(cut);
    for (uint64_t cut : cuts) {
      if (cut >= bytes.size()) continue;
      std::span<const std::byte> prefix(bytes.data(), cut);
      EXPECT_THROW(ZipArchive(prefix, "truncated"), ModelError) << name << " cut at " << cut;
    }
  }
}

TEST(PtZip, ErrorsNameTheFile) {
  std::vector<std::byte> junk(100, std::byte{0x41});
  try {
    ZipArchive zip(junk, "/some/dir/ckpt.pt");
    FAIL() << "junk parsed as a zip";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/some/dir/ckpt.pt"), std::string::npos) << e.what();
  }
}

TEST(PtZip, CorruptCentralDirectoryOffsetsAreRejected) {
  auto bytes = read_bytes(kPtData / "views" / "model.pt");
  ZipArchive whole(bytes, "views");
  // Point the first central-directory entry's local header offset past the data region.
  uint64_t cd = bytes.size();
  for (uint64_t at = 0; at + 4 <= bytes.size(); ++at) {
    if (bytes[at] == std::byte{0x50} && bytes[at + 1] == std::byte{0x4b} && bytes[at + 2] == std::byte{1} &&
        bytes[at + 3] == std::byte{2}) {
      cd = at;
      break;
    }
  }
  ASSERT_LT(cd, bytes.size());
  for (uint32_t bad : {0x7ffffff0u, static_cast<uint32_t>(cd - 10), 1u}) {
    auto copy = bytes;
    for (int i = 0; i < 4; ++i) copy[cd + 42 + i] = std::byte{static_cast<uint8_t>(bad >> (8 * i))};
    EXPECT_THROW(ZipArchive(copy, "corrupt"), ModelError) << bad;
  }
  // A data size that runs into the central directory.
  auto copy = bytes;
  for (int i = 0; i < 4; ++i) copy[cd + 20 + i] = copy[cd + 24 + i] = std::byte{0x7f};
  EXPECT_THROW(ZipArchive(copy, "corrupt"), ModelError);
}

TEST(PtZip, CompressedEntriesAreRefusedWhenRead) {
  auto bytes = read_bytes(kPtData / "hostile" / "compressed.pt");
  ZipArchive zip(bytes, "compressed.pt");  // Python's zipfile, no zip64: the directory parses
  const ZipEntry* pkl = zip.find("archive/data.pkl");
  ASSERT_NE(pkl, nullptr);
  EXPECT_EQ(pkl->method, 8);
  try {
    zip.read(*pkl);
    FAIL() << "a deflated entry was returned as stored bytes";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("compressed"), std::string::npos) << e.what();
  }
}

TEST(PtZip, RandomByteCorruptionNeverCrashes) {
  auto bytes = read_bytes(kPtData / "views" / "model.pt");
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  // Corrupt the directory region (the last ~1 KB) where offsets and sizes live.
  const uint64_t tail = std::min<uint64_t>(bytes.size(), 1200);
  for (int round = 0; round < 3000; ++round) {
    auto copy = bytes;
    for (int k = 0; k < 1 + static_cast<int>(next() % 4); ++k) {
      copy[copy.size() - 1 - next() % tail] = std::byte{static_cast<uint8_t>(next())};
    }
    try {
      ZipArchive zip(copy, "fuzz");
      for (const ZipEntry& e : zip.entries()) {
        try {
          auto data = zip.read(e);
          ASSERT_LE(data.data() + data.size(), copy.data() + copy.size());
          ASSERT_GE(data.data(), copy.data());
        } catch (const ModelError&) {
        }
      }
    } catch (const ModelError&) {
    }
  }
}

}  // namespace
}  // namespace dschat
