// dschat detokenize: token ids -> text with the model directory's tokenizer.json.
//   dschat detokenize [--model DIR] [--skip-special]                 JSON array on stdin -> text
//   dschat detokenize [--model DIR] [--skip-special] --batch F.jsonl one JSON array a line -> one JSON string a line
// Bytes that do not form valid UTF-8 are shown as U+FFFD, as in Tokenizer::decode.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "app/backend/loaded_model.h"
#include "app/backend/model_tokenizer.h"
#include "app/cli/batch_input.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "tokenizer/tokenizer.h"
#include "common/bounded_read.h"
#include "common/json_limits.h"

namespace dschat {

namespace {

const char* kDetokenizeUsage =
    "usage: dschat detokenize [--model DIR] [--skip-special] [--batch FILE.jsonl]\n"
    "  Reads a JSON array of token ids on stdin and prints the text.\n"
    "  -m, --model DIR   model or tokenizer directory (tokenizer.json [+ tokenizer_config.json]) or .gguf\n"
    "                    file (default: the bundled model)\n"
    "  --batch FILE      one JSON array a line -> one JSON string a line ('-' = stdin)\n"
    "  --skip-special    leave special tokens out of the text\n"
    "  -h, --help        this help\n";

std::vector<int32_t> parse_ids(const std::string& text, const std::string& where) {
  nlohmann::json value;
  try {
    value = parse_json_bounded(text);
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(where + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw TokenizerError(where + ": " + e.what());
  }
  if (!value.is_array()) throw TokenizerError(where + ": expected a JSON array of token ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto& id = value[i];
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      throw TokenizerError(where + ": element " + std::to_string(i) + " (" + json_summary(id) + ") is not a token id");
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return ids;
}

std::string decode_at(const Tokenizer& tokenizer, const std::vector<int32_t>& ids, bool skip_special,
                      const std::string& where) {
  try {
    return tokenizer.decode(ids, skip_special);
  } catch (const TokenizerError& e) {
    throw TokenizerError(where + ": " + e.what());
  }
}

}  // namespace

int cmd_detokenize(const Args& args) {
  CommandLine cl(args, {"--model", "--batch"}, {"--skip-special", "--help"}, {{"-m", "--model"}, {"-h", "--help"}});
  if (cl.has("--help")) {
    std::fputs(kDetokenizeUsage, stdout);
    return 0;
  }
  if (!cl.positional().empty()) return report_error("detokenize", "unexpected argument '" + cl.positional()[0] + "'");
  const Tokenizer tokenizer = load_model_tokenizer(cl.get_or("--model", default_model_dir()));
  const bool skip_special = cl.has("--skip-special");

  if (auto batch = cl.get("--batch")) {
    BatchInput input(*batch);
    std::string line;
    while (input.next_line(line)) {
      const std::string where = input.name() + ":" + std::to_string(input.line_number());
      std::string text = decode_at(tokenizer, parse_ids(line, where), skip_special, where);
      std::string json = nlohmann::json(text).dump() + "\n";
      std::fwrite(json.data(), 1, json.size(), stdout);
    }
  } else {
    std::string input;
    try {
      input = read_all_bounded(stdin, kStdinLimit, "stdin");
    } catch (const InputTooLarge& e) {
      throw TokenizerError(e.what());
    }
    if (std::ferror(stdin)) throw TokenizerError("stdin: read error");
    std::string text = decode_at(tokenizer, parse_ids(input, "stdin"), skip_special, "stdin");
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : report_error("detokenize", "cannot write to stdout");
}

}  // namespace dschat
