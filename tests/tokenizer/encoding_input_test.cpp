// What encode accepts: special tokens are plain text unless asked for; invalid UTF-8 is a
// TokenizerError naming the offset; long and hostile inputs do not crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {
namespace {

TEST(SpecialTokens, AreTextByDefaultAndParsedOnRequest) {
  const Tokenizer& t = gpt2();
  auto plain = t.encode("<|endoftext|>");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(t.decode(plain), "<|endoftext|>");
  EXPECT_EQ(t.encode("<|endoftext|>", /*parse_special=*/true), (std::vector<int32_t>{50256}));
  EXPECT_EQ(t.encode("a<|endoftext|>b", true), (std::vector<int32_t>{64, 50256, 65}));

  const Tokenizer& ds = deepseek_v3();
  const std::string bos = "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
  EXPECT_EQ(ds.encode(bos, true), (std::vector<int32_t>{0}));
  auto ds_plain = ds.encode(bos);
  EXPECT_EQ(std::count(ds_plain.begin(), ds_plain.end(), 0), 0);
  EXPECT_EQ(ds.decode(ds_plain), bos);
}

TEST(InvalidUtf8, IsATokenizerErrorWithTheOffset) {
  const Tokenizer& t = gpt2();
  struct Case {
    std::string text;
    std::size_t offset;
  };
  const std::vector<Case> cases = {
      {"ab\xFF", 2},                 // never valid
      {"\x80", 0},                   // lone continuation
      {"ok \xC3", 3},                // truncated 2-byte sequence at the end
      {"\xE2\x82x", 0},              // truncated 3-byte sequence
      {"\xC0\xAF", 0},               // overlong '/'
      {"\xED\xA0\x80", 0},           // UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0},       // above U+10FFFF
      {"\xF0\x9F\x98\x80\xF8", 4},   // after a valid emoji
  };
  for (const Case& c : cases) {
    try {
      t.encode(c.text);
      ADD_FAILURE() << "no error for offset " << c.offset;
    } catch (const TokenizerError& e) {
      EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("offset " + std::to_string(c.offset)), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(deepseek_v3().encode("\xFF"), TokenizerError);
}

TEST(HostileInput, LongAndRepetitiveTextsEncodeAndRoundTrip) {
  const std::vector<std::string> texts = {
      std::string(200000, 'a'),                       // one huge word (not cached, heap merge)
      std::string(100000, ' '),                       // one huge white-space run
      std::string(50000, '\n') + "x",
      [] { std::string s; for (int i = 0; i < 20000; ++i) s += "\xF0\x9F\x98\x80"; return s; }(),
      [] { std::string s; for (int i = 0; i < 20000; ++i) s += "<|endoftext|>"; return s; }(),
      std::string("\0\0\0", 3),
  };
  for (const Tokenizer* t : {&gpt2(), &deepseek_v3()}) {
    for (const auto& text : texts) {
      auto ids = t->encode(text);
      EXPECT_FALSE(ids.empty());
      EXPECT_EQ(t->decode(ids), text);
    }
  }
}

TEST(Concurrency, OneTokenizerServesSeveralThreads) {
  const Tokenizer& t = gpt2();
  const std::string text = corpus()[3].text;
  const auto expected = t.encode(text);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) {
        if (t.encode(text + std::to_string(i * 100 + k)).size() < expected.size()) ++mismatches;
        if (t.encode(text) != expected) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace dschat::testing
