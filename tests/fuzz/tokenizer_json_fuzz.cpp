// Fuzz target: tokenizer.json text through Tokenizer::from_json; an accepted tokenizer then
// encodes and decodes a fixed sample (errors must be TokenizerError, nothing else).
#include "tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dschat::Tokenizer tokenizer = dschat::Tokenizer::from_json(dschat::fuzz::as_text(data, size), "tokenizer.json");
    std::vector<int32_t> ids = tokenizer.encode("Hello world! <|endoftext|> 123 \xc3\xa9t\xc3\xa9\n", true);
    (void)tokenizer.decode(ids);
    for (int32_t id : ids) {
      if (id < 0 || id >= tokenizer.vocab_size()) dschat::fuzz::property_failed("encode returned an id out of range");
    }
  } catch (const dschat::TokenizerError&) {
  }
  return 0;
}
