// The tokenizer's streaming decoder behind the engine's TokenTextDecoder interface (special tokens
// skipped), for whatever runs the generation loop on a loaded model: the local responder and the
// HTTP server.
#pragma once

#include <cstdint>
#include <string>

#include "engine/generation.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

class StreamingTextDecoder final : public TokenTextDecoder {
 public:
  explicit StreamingTextDecoder(const Tokenizer& tokenizer) : decoder_(tokenizer, /*skip_special=*/true) {}
  std::string push(int32_t id) override { return decoder_.push(id); }
  std::string finish() override { return decoder_.finish(); }
  void reset() override { decoder_.reset(); }

 private:
  StreamingDecoder decoder_;
};

}  // namespace dschat
