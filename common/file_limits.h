// The largest file of each kind that is read whole into memory. Each is far above any real file
// of its kind (DeepSeek-V3's config.json is 1.7 KB, its safetensors index 9 MB, a large
// tokenizer.json 20 MB, a conversation of 10,000 messages 3 MB), and small enough that a file
// above it is refused with a message naming it instead of ending in std::bad_alloc.
// Memory-mapped weight files have no limit: they are paged in lazily, never copied.
#pragma once

#include <cstdint>

namespace dschat {

struct FileLimit {
  uint64_t max_bytes;
  const char* kind;  // for the message: "more than the 64 MiB limit for <kind>"
};

inline constexpr uint64_t kMiB = uint64_t{1} << 20;

// config.json, generation_config.json, tokenizer_config.json, model.safetensors.index.json.
inline constexpr FileLimit kJsonConfigLimit{64 * kMiB, "a JSON configuration file"};
inline constexpr FileLimit kTokenizerJsonLimit{512 * kMiB, "tokenizer.json"};
// A conversation is parsed without a DOM (app/chat/conversation_file_parser.h) and written one
// message at a time: opening one takes about 2.4 times its size (its text and the messages; a DOM
// took 4 to 5 times, so the limit was 256 MiB), an autosave about 4.4 times (ChatSession::save
// copies the conversation before writing it). So 1 GiB, twice the largest conversation seen
// (500 MB), some 250 million tokens of chat: 2.5 GB to open, 4.5 GB to save.
inline constexpr FileLimit kConversationLimit{1024 * kMiB, "a conversation file"};
inline constexpr FileLimit kHistoryLimit{64 * kMiB, "the input history"};
// The --batch file of `dschat tokenize` and `dschat detokenize`.
inline constexpr FileLimit kBatchFileLimit{1024 * kMiB, "a batch file"};
// What is read from a stream (common/bounded_read.h): standard input read whole (`dschat tokenize`,
// `detokenize`, `run --prompt -`), and one line of a --batch file or of line-mode chat input (a
// chat message, or a ``` block of them, is held to the same limit; far more than any context).
inline constexpr FileLimit kStdinLimit{256 * kMiB, "standard input"};
inline constexpr FileLimit kInputLineLimit{16 * kMiB, "one line of input"};

}  // namespace dschat
