#include "tokenizer/tokenizer_json_reader.h"

#include <limits>

#include "common/json_limits.h"

namespace dschat {

namespace {

using json = nlohmann::json;

// SAX handler: builds the tree like nlohmann's own json_sax_dom_parser (a later repeated key
// overwrites an earlier one), except that the values of root.model.vocab and root.model.merges
// are streamed into `out`. Returning false stops the parse: the text is not in the streamable
// shape and the caller falls back to the tree.
class StreamingHandler : public nlohmann::json_sax<json> {
 public:
  explicit StreamingHandler(StreamedTokenizerJson& out) : out_(out) {}

  bool complete() const { return vocab_streamed_ && merges_streamed_; }

  bool null() override { return mode_ == Mode::kTree && store(json(nullptr)); }
  bool boolean(bool value) override { return mode_ == Mode::kTree && store(json(value)); }
  bool number_integer(number_integer_t value) override {
    if (mode_ == Mode::kVocab) return add_vocab_entry(value);
    return mode_ == Mode::kTree && store(json(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (mode_ == Mode::kVocab) {
      if (value > static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max())) return false;
      return add_vocab_entry(static_cast<int64_t>(value));
    }
    return mode_ == Mode::kTree && store(json(value));
  }
  bool number_float(number_float_t value, const string_t&) override { return mode_ == Mode::kTree && store(json(value)); }
  bool binary(binary_t&) override { return false; }  // never produced by the JSON lexer

  bool string(string_t& value) override {
    switch (mode_) {
      case Mode::kTree:
        return store(json(value));
      case Mode::kMerges: {
        // "a b": exactly one space, neither first nor last.
        std::size_t space = value.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 >= value.size() ||
            value.find(' ', space + 1) != std::string::npos) {
          return false;
        }
        std::string_view text(value);
        out_.merge_lefts.push_back(text.substr(0, space));
        out_.merge_rights.push_back(text.substr(space + 1));
        return fits_offsets();
      }
      case Mode::kMergePair:
        if (pair_parts_ == 0) pair_left_ = value;
        else if (pair_parts_ == 1) pair_right_ = value;
        else return false;
        ++pair_parts_;
        return true;
      case Mode::kVocab:
        return false;
    }
    return false;
  }

  bool start_object(std::size_t) override {
    if (!open_level()) return false;
    if (mode_ != Mode::kTree) return false;
    if (pending_stream_ == "vocab") {
      if (vocab_streamed_) return false;
      pending_stream_.clear();
      mode_ = Mode::kVocab;
      return true;
    }
    json* object = store(json(json::value_t::object));
    if (object == nullptr) return false;
    stack_.push_back(object);
    return true;
  }

  bool key(string_t& key) override {
    if (mode_ == Mode::kVocab) {
      pending_key_ = key;
      return true;
    }
    if (mode_ != Mode::kTree) return false;
    if (stack_.size() == 1) {
      if (key == "model") {
        if (model_seen_) return false;  // repeated: the tree keeps the last one
        model_seen_ = true;
      }
      root_key_ = key;
    }
    if (stack_.size() == 2 && root_key_ == "model" && (key == "vocab" || key == "merges")) {
      pending_stream_ = key;  // streamed if its value is an object (vocab) / an array (merges)
      return true;
    }
    object_element_ = &(*stack_.back())[key];
    return true;
  }

  bool end_object() override {
    --open_levels_;
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kTree;
      vocab_streamed_ = true;
      return true;
    }
    if (mode_ != Mode::kTree || stack_.empty()) return false;
    stack_.pop_back();
    return true;
  }

  bool start_array(std::size_t) override {
    if (!open_level()) return false;
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_parts_ = 0;
      return true;
    }
    if (mode_ != Mode::kTree) return false;
    if (pending_stream_ == "merges") {
      if (merges_streamed_) return false;
      pending_stream_.clear();
      mode_ = Mode::kMerges;
      return true;
    }
    json* array = store(json(json::value_t::array));
    if (array == nullptr) return false;
    stack_.push_back(array);
    return true;
  }

  bool end_array() override {
    --open_levels_;
    if (mode_ == Mode::kMergePair) {
      if (pair_parts_ != 2) return false;
      out_.merge_lefts.push_back(pair_left_);
      out_.merge_rights.push_back(pair_right_);
      mode_ = Mode::kMerges;
      return fits_offsets();
    }
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kTree;
      merges_streamed_ = true;
      return true;
    }
    if (mode_ != Mode::kTree || stack_.empty()) return false;
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  enum class Mode { kTree, kVocab, kMerges, kMergePair };

  // Counts a new array or object; false past parse_json_bounded's limit (the tree parse then
  // reports the depth), so nesting costs no more here than there.
  bool open_level() {
    if (open_levels_ > kMaxJsonDepth) return false;
    ++open_levels_;
    return true;
  }

  // Puts a value where the tree expects the next one; the stored value, or nullptr.
  json* store(json&& value) {
    if (stack_.empty()) {
      out_.root = std::move(value);
      return &out_.root;
    }
    if (!pending_stream_.empty()) {  // "vocab"/"merges" of an unstreamable type: kept in the tree
      object_element_ = &(*stack_.back())[pending_stream_];
      pending_stream_.clear();
    }
    if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(value));
      return &stack_.back()->back();
    }
    *object_element_ = std::move(value);
    return object_element_;
  }

  bool add_vocab_entry(int64_t id) {
    out_.vocab_tokens.push_back(pending_key_);
    out_.vocab_ids.push_back(id);
    return fits_offsets();
  }

  // The packed offsets are 32-bit.
  bool fits_offsets() const {
    constexpr std::size_t kLimit = std::numeric_limits<uint32_t>::max();
    return out_.vocab_tokens.text.size() < kLimit && out_.merge_lefts.text.size() < kLimit &&
           out_.merge_rights.text.size() < kLimit;
  }

  StreamedTokenizerJson& out_;
  Mode mode_ = Mode::kTree;
  std::vector<json*> stack_;        // open objects and arrays of the tree
  json* object_element_ = nullptr;  // where the value of the last key goes
  std::string root_key_;            // the last key of the root object
  std::string pending_stream_;      // "vocab"/"merges" just read as a key of root.model
  std::string pending_key_;         // the vocab token whose id comes next
  std::string pair_left_, pair_right_;
  int pair_parts_ = 0;
  int open_levels_ = 0;             // arrays and objects open around the current value
  bool model_seen_ = false, vocab_streamed_ = false, merges_streamed_ = false;
};

}  // namespace

std::optional<StreamedTokenizerJson> read_tokenizer_json_streaming(std::string_view json_text) {
  StreamedTokenizerJson out;
  // About 20 bytes of JSON per vocabulary entry and per merge in GPT-2 and DeepSeek-V3 files.
  out.vocab_ids.reserve(json_text.size() / 40);
  out.vocab_tokens.begin.reserve(json_text.size() / 40);
  out.merge_lefts.begin.reserve(json_text.size() / 40);
  out.merge_rights.begin.reserve(json_text.size() / 40);
  StreamingHandler handler(out);
  bool parsed = false;
  try {
    parsed = json::sax_parse(json_text.begin(), json_text.end(), &handler);
  } catch (const json::exception&) {
    return std::nullopt;
  }
  if (!parsed || !handler.complete()) return std::nullopt;
  return out;
}

}  // namespace dschat
