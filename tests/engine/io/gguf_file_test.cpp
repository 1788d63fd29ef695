// The GGUF reader on a file llama.cpp wrote (tests/data/gguf) and on hostile files built here:
// every defect is a ModelError naming the file and what is wrong, found before anything is
// allocated from a count or a length in the file.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/io/gguf_file.h"
#include "engine/io/model_error.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";

// GGUF bytes, little-endian.
struct Bytes {
  std::string s;
  template <typename T>
  Bytes& put(T v) {
    s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Bytes& str(const std::string& x) {
    put<uint64_t>(x.size());
    s += x;
    return *this;
  }
  Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    s += "GGUF";
    return put(version).put(n_tensors).put(n_kv);
  }
  Bytes& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(ne.size());
    for (uint64_t n : ne) put(n);
    return put(type).put(offset);
  }
  Bytes& pad(size_t alignment = 32) {
    s.append((alignment - s.size() % alignment) % alignment, '\0');
    return *this;
  }
};

class GgufFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat-gguf-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const Bytes& b) {
    const fs::path p = dir_ / "m.gguf";
    std::ofstream(p, std::ios::binary | std::ios::trunc) << b.s;
    return p;
  }
  std::string error_of(const Bytes& b) {
    const fs::path p = write(b);
    try {
      GgufFile f(p);
    } catch (const ModelError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(p.string() + ": ", 0), 0u) << what;
      return what.substr(p.string().size() + 2);
    }
    return "(no error)";
  }
  fs::path dir_;
};

TEST_F(GgufFileTest, ReadsAFileLlamaCppWrote) {
  GgufFile f(kDir / "v3_qlora.Q4_0.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(f.tensors().size(), 34u);
  ASSERT_NE(f.find("general.architecture"), nullptr);
  EXPECT_EQ(f.find("general.architecture")->string_value, "deepseek2");
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->element_type, GgufType::String);
  EXPECT_EQ(tokens->strings.size(), 363u);
  EXPECT_EQ(f.find("deepseek2.block_count")->type, GgufType::U32);
  EXPECT_EQ(f.find("deepseek2.block_count")->int_value, 2);
  EXPECT_EQ(f.find("tokenizer.ggml.add_bos_token")->type, GgufType::Bool);
  const GgufTensor* embd = f.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->ne, (std::vector<uint64_t>{64, 363}));  // ne[0] is the row
  const GgufTensor* q = f.find_tensor("blk.0.attn_q_a.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_STREQ(q->type->name, "Q4_0");
  EXPECT_EQ(q->nbytes, 32u * (64 / 32) * 18);
  // The last tensor ends inside the file.
  uint64_t end = 0;
  for (const GgufTensor& t : f.tensors()) end = std::max(end, t.offset + t.nbytes);
  EXPECT_LE(f.data_offset() + end, f.mapping().size());
}

TEST_F(GgufFileTest, EveryScalarTypeArraysAndNestedArrays) {
  Bytes b;
  b.header(2, 0, 6);
  b.str("a.u8").put<uint32_t>(0).put<uint8_t>(200);
  b.str("a.i16").put<uint32_t>(3).put<int16_t>(-7);
  b.str("a.u64").put<uint32_t>(10).put<uint64_t>(~uint64_t{0});
  b.str("a.f64").put<uint32_t>(12).put<double>(0.25);
  b.str("a.floats").put<uint32_t>(9).put<uint32_t>(6).put<uint64_t>(2).put<float>(1.5f).put<float>(-2.0f);
  b.str("a.nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
  b.put<uint32_t>(5).put<uint64_t>(1).put<int32_t>(-4);  // [ [-4], ["x"] ]
  b.put<uint32_t>(8).put<uint64_t>(1).str("x");
  GgufFile f(write(b));
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.find("a.u8")->int_value, 200);
  EXPECT_EQ(f.find("a.i16")->int_value, -7);
  EXPECT_EQ(f.find("a.u64")->uint_value, ~uint64_t{0});
  EXPECT_EQ(f.find("a.f64")->float_value, 0.25);
  EXPECT_EQ(f.find("a.floats")->floats, (std::vector<double>{1.5, -2.0}));
  const GgufValue* n = f.find("a.nested");
  ASSERT_EQ(n->arrays.size(), 2u);
  EXPECT_EQ(n->arrays[0].ints, (std::vector<int64_t>{-4}));
  EXPECT_EQ(n->arrays[1].strings, (std::vector<std::string>{"x"}));
  EXPECT_EQ(f.metadata()[0].first, "a.u8");  // file order
}

TEST_F(GgufFileTest, HostileHeadersAreClearErrors) {
  EXPECT_EQ(error_of(Bytes{"GGML"}), "not a GGUF file (no 'GGUF' magic)");
  EXPECT_EQ(error_of(Bytes().header(1, 0, 0)), "GGUF version 1 is not supported (only 2 and 3; convert the file again)");
  EXPECT_EQ(error_of(Bytes().header(0x03000000, 0, 0)),
            "GGUF version 50331648 is not supported (only 2 and 3; the file looks big-endian)");
  EXPECT_EQ(error_of(Bytes().header(3, 0, uint64_t{1} << 62)),
            "metadata count: 4611686018427387904 entries cannot fit in the 0 bytes left of the file");
  EXPECT_EQ(error_of(Bytes().header(3, uint64_t{1} << 62, 0)),
            "tensor count: 4611686018427387904 entries cannot fit in the 0 bytes left of the file");
  Bytes huge_string;
  huge_string.header(3, 0, 1).put<uint64_t>(uint64_t{1} << 60).s.append(64, '\0');
  EXPECT_EQ(error_of(huge_string), "metadata entry 0 key has length 1152921504606846976, more than the 1 GiB limit");
  Bytes long_string;
  long_string.header(3, 0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1000);
  EXPECT_EQ(error_of(long_string),
            "metadata 'k' of 1000 bytes runs past the end of the file (needs 1000 bytes at offset 45, the file has 45)");
  Bytes huge_array;
  huge_array.header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 61);
  EXPECT_EQ(error_of(huge_array), "metadata 'k': 2305843009213693952 entries cannot fit in the 0 bytes left of the file");
  Bytes bad_type;
  bad_type.header(3, 0, 1).str("k").put<uint32_t>(13);
  EXPECT_EQ(error_of(bad_type), "metadata 'k' has unknown value type 13");
  Bytes bad_bool;
  bad_bool.header(3, 0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2);
  EXPECT_EQ(error_of(bad_bool), "metadata 'k' is a bool of value 2 (must be 0 or 1)");
  Bytes twice;
  twice.header(3, 0, 2).str("k").put<uint32_t>(0).put<uint8_t>(1).str("k").put<uint32_t>(0).put<uint8_t>(1);
  EXPECT_EQ(error_of(twice), "metadata 'k' appears twice");
  Bytes deep;
  deep.header(3, 0, 1).str("k").put<uint32_t>(9);
  for (int i = 0; i < 9; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.put<uint32_t>(0).put<uint64_t>(0);
  EXPECT_NE(error_of(deep).find("arrays nested more than 8 deep"), std::string::npos);
  Bytes alignment;
  alignment.header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(24);
  EXPECT_EQ(error_of(alignment), "metadata 'general.alignment' must be a power of two, got 24");
}

TEST_F(GgufFileTest, HostileTensorInfosAreClearErrors) {
  auto with = [](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Bytes b;
    b.header(3, 1, 0).tensor(name, std::move(ne), type, offset).pad();
    b.s.append(128, '\0');
    return b;
  };
  EXPECT_EQ(error_of(with("w", {32}, 99, 0)), "tensor 'w' has unknown ggml type id 99");
  EXPECT_EQ(error_of(with("w", {}, 0, 0)), "tensor 'w' has 0 dimensions (1 to 4 allowed)");
  EXPECT_EQ(error_of(with("w", {1, 1, 1, 1, 1}, 0, 0)), "tensor 'w' has 5 dimensions (1 to 4 allowed)");
  EXPECT_EQ(error_of(with("w", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0)), "tensor 'w' has a shape too large");
  EXPECT_EQ(error_of(with("w", {33}, 8, 0)),
            "tensor 'w' of type Q8_0 has rows of 33 values, not a whole number of blocks of 32");
  EXPECT_EQ(error_of(with("w", {8}, 0, 4)), "tensor 'w' offset 4 is not a multiple of the alignment 32");
  EXPECT_EQ(error_of(with("w", {64}, 0, 0)),
            "tensor 'w' (256 bytes at data offset 0) runs past the end of the file (data section of 128 bytes)");
  EXPECT_EQ(error_of(with("w", {8}, 0, uint64_t{1} << 62)),
            "tensor 'w' (32 bytes at data offset 4611686018427387904) runs past the end of the file (data section of "
            "128 bytes)");
  // An empty tensor (a dimension of 0) far past the data: found by the fuzzer (UBSan: pointer
  // overflow forming its address), tests/fuzz/regressions/gguf_file/empty-tensor-offset-past-the-data.
  EXPECT_EQ(error_of(with("w", {8, 0}, 0, uint64_t{1} << 40)),
            "tensor 'w' (0 bytes at data offset 1099511627776) runs past the end of the file (data section of "
            "128 bytes)");
  EXPECT_EQ(error_of(with("w", {8, 0}, 0, 128)), "(no error)");  // at the very end: allowed
  Bytes overlap;
  overlap.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad();
  overlap.s.append(128, '\0');
  EXPECT_EQ(error_of(overlap), "tensors 'a' and 'b' overlap in the data section");
  Bytes twice;
  twice.header(3, 2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad();
  twice.s.append(128, '\0');
  EXPECT_EQ(error_of(twice), "tensor 'a' appears twice");
  Bytes truncated;
  truncated.header(3, 1, 0).str("w").put<uint32_t>(4).put<uint64_t>(8).put<uint64_t>(8);
  EXPECT_EQ(error_of(truncated),
            "tensor 'w' dimension runs past the end of the file (needs 8 bytes at offset 53, the file has 53)");
}

TEST_F(GgufFileTest, AFifoIsRefusedNotWaitedOn) {
  const fs::path fifo = dir_ / "fifo.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(GgufFile{fifo}, ModelError);
}

}  // namespace
}  // namespace dschat
