// dschat tokenize: UTF-8 text -> token ids with the model directory's tokenizer.json.
//   dschat tokenize [--model DIR] [--special]                 text on stdin -> one JSON array
//   dschat tokenize [--model DIR] [--special] --batch F.jsonl one JSON string a line -> one array a line
// --special parses special tokens written in the text (by default they are plain text).
// --bench times encoding of the input instead and prints throughput as JSON.
#include <chrono>
#include <ctime>
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

const char* kTokenizeUsage =
    "usage: dschat tokenize [--model DIR] [--special] [--batch FILE.jsonl] [--bench]\n"
    "  Reads UTF-8 text on stdin and prints its token ids as a JSON array.\n"
    "  -m, --model DIR   model or tokenizer directory (tokenizer.json [+ tokenizer_config.json]) or .gguf\n"
    "                    file (default: the bundled model)\n"
    "  --batch FILE      one JSON string (or {\"text\": ...}) a line -> one JSON array a line ('-' = stdin)\n"
    "  --special         recognise special tokens such as <|endoftext|> in the text\n"
    "  --bench           print the encoding time and speed (one JSON object) instead of the ids\n"
    "  -h, --help        this help\n";

void append_ids(std::string& out, const std::vector<int32_t>& ids) {
  out += '[';
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]\n";
}

// The text of one batch line: a JSON string or an object with a "text" string.
std::string batch_line_text(const std::string& line, const std::string& where) {
  nlohmann::json value;
  try {
    value = parse_json_bounded(line);
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(where + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw TokenizerError(where + ": " + e.what());
  }
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("text") && value["text"].is_string()) return value["text"].get<std::string>();
  throw TokenizerError(where + ": expected a JSON string (or an object with a \"text\" string)");
}

// Calls `handle(text, where)` for each line of the batch file (or stdin for "-").
template <typename Handler>
void for_each_batch_text(const std::string& path, Handler handle) {
  BatchInput input(path);
  std::string line;
  while (input.next_line(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = input.name() + ":" + std::to_string(input.line_number());
    if (line.find_first_not_of(" \t") == std::string::npos) throw TokenizerError(where + ": empty line (expected a JSON string)");
    handle(batch_line_text(line, where), where);
  }
}

std::string read_stdin() {
  std::string text;
  try {
    text = read_all_bounded(stdin, kStdinLimit, "stdin");
  } catch (const InputTooLarge& e) {
    throw TokenizerError(e.what());
  }
  if (std::ferror(stdin)) throw TokenizerError("stdin: read error");
  return text;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int run_bench(const Tokenizer& tokenizer, const std::vector<std::string>& texts) {
  std::size_t bytes = 0;
  for (const auto& text : texts) bytes += text.size();
  nlohmann::json report = {{"bytes", bytes}};
  // Pass 1 starts with an empty word cache; pass 2 finds every word cached. Throughput is
  // bytes per second of this thread's CPU time (wall time is also given: on a busy machine it
  // includes time spent waiting for a core).
  for (const char* pass : {"cold", "warm"}) {
    std::size_t tokens = 0;
    auto wall_start = std::chrono::steady_clock::now();
    double cpu_start = thread_cpu_seconds();
    for (const auto& text : texts) tokens += tokenizer.encode(text).size();
    double cpu = thread_cpu_seconds() - cpu_start;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    report["tokens"] = tokens;
    report[std::string(pass) + "_cpu_seconds"] = cpu;
    report[std::string(pass) + "_wall_seconds"] = wall;
    report[std::string(pass) + "_mb_per_s"] = static_cast<double>(bytes) / 1e6 / cpu;
  }
  std::printf("%s\n", report.dump().c_str());
  return 0;
}

}  // namespace

int cmd_tokenize(const Args& args) {
  CommandLine cl(args, {"--model", "--batch"}, {"--special", "--bench", "--help"}, {{"-m", "--model"}, {"-h", "--help"}});
  if (cl.has("--help")) {
    std::fputs(kTokenizeUsage, stdout);
    return 0;
  }
  if (!cl.positional().empty()) return report_error("tokenize", "unexpected argument '" + cl.positional()[0] + "'");
  const Tokenizer tokenizer = load_model_tokenizer(cl.get_or("--model", default_model_dir()));
  const bool parse_special = cl.has("--special");
  const auto batch = cl.get("--batch");

  if (cl.has("--bench")) {
    std::vector<std::string> texts;
    if (batch) for_each_batch_text(*batch, [&](std::string text, const std::string&) { texts.push_back(std::move(text)); });
    else texts.push_back(read_stdin());
    return run_bench(tokenizer, texts);
  }
  if (batch) {
    std::string out;
    for_each_batch_text(*batch, [&](const std::string& text, const std::string& where) {
      try {
        append_ids(out, tokenizer.encode(text, parse_special));
      } catch (const TokenizerError& e) {
        throw TokenizerError(where + ": " + e.what());
      }
      if (out.size() > (1 << 16)) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    });
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else {
    std::string out;
    try {
      append_ids(out, tokenizer.encode(read_stdin(), parse_special));
    } catch (const TokenizerError& e) {
      throw TokenizerError(std::string("stdin: ") + e.what());
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : report_error("tokenize", "cannot write to stdout");
}

}  // namespace dschat
