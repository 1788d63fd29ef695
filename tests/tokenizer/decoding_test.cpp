// Decoding: byte-level decoding, the U+FFFD policy for invalid byte sequences, and the
// streaming decoder (no U+FFFD for a split character; pieces concatenate to the full decode).
#include <gtest/gtest.h>

#include "tests/tokenizer/tokenizer_test_data.h"
#include "tokenizer/utf8.h"

namespace dschat::testing {
namespace {

std::size_t count_replacements(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t pos = s.find("\xEF\xBF\xBD"); pos != std::string::npos; pos = s.find("\xEF\xBF\xBD", pos + 3)) ++n;
  return n;
}

void expect_streaming_matches_full_decode(const Tokenizer& tokenizer, const char* which) {
  for (const CorpusCase& c : corpus()) {
    const auto ids = tokenizer.encode(c.text);
    StreamingDecoder decoder(tokenizer);
    std::string streamed;
    for (int32_t id : ids) {
      std::string piece = decoder.push(id);
      EXPECT_FALSE(utf8::find_invalid(piece).has_value()) << which << " " << c.name;
      streamed += piece;
    }
    streamed += decoder.finish();
    EXPECT_EQ(streamed, tokenizer.decode(ids)) << which << " " << c.name;
    EXPECT_EQ(streamed, c.text) << which << " " << c.name;
    EXPECT_EQ(count_replacements(streamed), count_replacements(c.text)) << which << " " << c.name;
  }
}

TEST(StreamingDecoder, Gpt2PiecesConcatenateToTheFullDecode) { expect_streaming_matches_full_decode(gpt2(), "gpt2"); }

TEST(StreamingDecoder, DeepSeekV3PiecesConcatenateToTheFullDecode) {
  expect_streaming_matches_full_decode(deepseek_v3(), "deepseek_v3");
}

int32_t byte_token(const Tokenizer& tokenizer, unsigned char byte) {
  for (int32_t id = 0; id < 256 * 4; ++id) {
    if (tokenizer.token_bytes(id) == std::string(1, static_cast<char>(byte))) return id;
  }
  throw std::runtime_error("no single-byte token");
}

TEST(StreamingDecoder, HoldsBackASplitCharacterUntilItIsComplete) {
  const Tokenizer& t = gpt2();
  // U+1F600 as its four single-byte tokens.
  StreamingDecoder decoder(t);
  EXPECT_EQ(decoder.push(byte_token(t, 0xF0)), "");
  EXPECT_EQ(decoder.push(byte_token(t, 0x9F)), "");
  EXPECT_EQ(decoder.push(byte_token(t, 0x98)), "");
  EXPECT_EQ(decoder.push(byte_token(t, 0x80)), "\xF0\x9F\x98\x80");
  // An invalid continuation ends the held sequence: one U+FFFD for the maximal subpart, as in
  // the full decode.
  EXPECT_EQ(decoder.push(byte_token(t, 0xE2)), "");
  EXPECT_EQ(decoder.push(t.encode("A")[0]), "\xEF\xBF\xBD" "A");
  // finish() flushes an incomplete tail as U+FFFD.
  EXPECT_EQ(decoder.push(byte_token(t, 0xE2)), "");
  EXPECT_EQ(decoder.push(byte_token(t, 0x82)), "");
  EXPECT_EQ(decoder.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.finish(), "");
  // reset() drops what is held.
  EXPECT_EQ(decoder.push(byte_token(t, 0xE2)), "");
  decoder.reset();
  EXPECT_EQ(decoder.push(t.encode("B")[0]), "B");
}

TEST(StreamingDecoder, SkipsSpecialTokensWhenAsked) {
  const Tokenizer& t = gpt2();
  StreamingDecoder skipping(t, /*skip_special=*/true);
  StreamingDecoder keeping(t);
  EXPECT_EQ(skipping.push(50256), "");
  EXPECT_EQ(keeping.push(50256), "<|endoftext|>");
}

TEST(Decode, InvalidByteSequencesBecomeReplacementCharacters) {
  const Tokenizer& t = gpt2();
  // Lone lead byte, lone continuation byte, truncated 3-byte sequence followed by ASCII.
  EXPECT_EQ(t.decode(std::vector<int32_t>{byte_token(t, 0xE2)}), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode(std::vector<int32_t>{byte_token(t, 0x80)}), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode(std::vector<int32_t>{byte_token(t, 0xE2), byte_token(t, 0x82), t.encode("x")[0]}),
            "\xEF\xBF\xBD" "x");
  EXPECT_EQ(t.decode(std::vector<int32_t>{50256, 15496}, /*skip_special=*/true), "Hello");
  EXPECT_EQ(t.decode(std::vector<int32_t>{50256, 15496}), "<|endoftext|>Hello");
  EXPECT_THROW(t.decode(std::vector<int32_t>{50257}), TokenizerError);
  EXPECT_THROW(t.decode(std::vector<int32_t>{-1}), TokenizerError);
  EXPECT_THROW(t.token_bytes(50257), TokenizerError);
}

TEST(Utf8, LossyConversionReplacesMaximalSubparts) {
  // Unicode 15 §3.9, Table 3-8: "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64" -> a FFFD FFFD FFFD b FFFD c FFFD FFFD d
  const std::string input = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::to_valid_lossy(input), "a" + r + r + r + "b" + r + "c" + r + r + "d");
  EXPECT_EQ(utf8::incomplete_tail_length("ab\xE2\x82"), 2u);
  EXPECT_EQ(utf8::incomplete_tail_length("ab\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8::incomplete_tail_length("ab\xE0\x80"), 0u);  // E0 80 can never be completed
  EXPECT_EQ(utf8::incomplete_tail_length("\xE2\x82\xAC"), 0u);
}

}  // namespace
}  // namespace dschat::testing
