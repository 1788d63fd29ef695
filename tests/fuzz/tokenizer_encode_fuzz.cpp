// Fuzz target: arbitrary bytes encoded by the bundled GPT-2 byte-level BPE tokenizer
// (assets/model/tokenizer.json). Properties: invalid UTF-8 is a TokenizerError; valid text
// round-trips exactly (byte-level BPE without a normalizer is lossless); the streaming decoder
// gives the same text as decode; ids are in range. The first byte selects parse_special.
#include "tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const dschat::Tokenizer& bundled_tokenizer() {
  static const dschat::Tokenizer tokenizer =
      dschat::Tokenizer::from_directory(std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets" / "model");
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)bundled_tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const dschat::Tokenizer& tokenizer = bundled_tokenizer();
  const bool parse_special = data[0] & 1;
  std::string_view text = dschat::fuzz::as_text(data + 1, size - 1);
  std::vector<int32_t> ids;
  try {
    ids = tokenizer.encode(text, parse_special);
  } catch (const dschat::TokenizerError&) {
    return 0;  // invalid UTF-8
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) dschat::fuzz::property_failed("id out of range");
  }
  std::string decoded = tokenizer.decode(ids);
  if (decoded != text) dschat::fuzz::property_failed("decode(encode(text)) != text");
  dschat::StreamingDecoder stream(tokenizer);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.finish();
  if (streamed != decoded) dschat::fuzz::property_failed("streamed decode != decode");
  return 0;
}
