// A reply's reasoning: DeepSeek-R1-style models (and the remote engine, which wraps an OpenAI
// `reasoning_content` stream the same way) start a reply with "<think>\n...\n</think>\n\n" before
// the answer. The reasoning is kept apart from the answer: stored in its own field, shown apart,
// and never given back to the model in later turns (DeepSeek-R1's usage guidance: the chat template
// gets only the answer).
#pragma once

#include <string>
#include <string_view>

namespace dschat {

struct ReasoningSplit {
  bool has_reasoning = false;  // the reply opens with <think> (after blank space)
  bool closed = false;         // ... and </think> was seen
  std::string reasoning;       // between the tags, without the blank lines around it
  std::string answer;          // after </think> (its leading blank lines dropped); the whole reply
                               // when it does not open with <think>
};

// Splits a reply. Only a <think> at the very start counts (text before it means it is part of the
// answer). `streaming`: the reply is still being generated, so a start that may yet become
// "<think>" ("<th") and an end of the reasoning that may yet become "</think>" are held back
// instead of being shown as text.
ReasoningSplit split_reasoning(std::string_view reply, bool streaming = false);

// The first `max_words` words of `text` on one line ("In the beginning God created…").
std::string first_words(std::string_view text, int max_words);

}  // namespace dschat
