// dschat logits --model DIR --ids 1,2,3 --out F.npy [--incremental] [-t N] [--chunk N] [--cache-type T]
// Writes float32 logits [n_ids, vocab] as a .npy file (via a temporary file and rename).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/backend/loaded_model.h"
#include "app/chat/conversation_store.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/weight_type_option.h"
#include "engine/model.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

const char* kLogitsHelp =
    "usage: dschat logits --model DIR --ids 1,2,3 --out F.npy [--incremental] [-t THREADS] [--chunk N]\n"
    "                     [--type f32|bf16|q8_0|q4_0] [--cache-type f32|bf16|fp8|q8_0]\n"
    "  Runs the token ids through the model and writes the logits of every position as a float32\n"
    "  .npy array [n_ids, vocab].\n"
    "  --model PATH    model directory, .gguf or .pt file (default: the bundled model)\n"
    "  --ids LIST      token ids, comma-separated (brackets allowed: [1,2,3])\n"
    "  --out FILE      the .npy file to write\n"
    "  --incremental   feed one token at a time (absorbed-MLA decode with the latent cache)\n"
    "                  instead of one batched full-sequence pass\n"
    "  -t, --threads   worker threads (default: all)\n"
    "  --chunk N       tokens per chunk of the full-sequence pass (default 64)\n"
    "  --type T        weight type at run time (default: the checkpoint's own)\n"
    "  --cache-type T  latent KV cache type: f32 (default), bf16, fp8 (FlashMLA's E4M3 latent\n"
    "                  with a scale per 128 values, rotary key in BF16) or q8_0\n"
    "  -h, --help      this help\n";

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::string s = text;
  for (char& ch : s) {
    if (ch == '[' || ch == ']') ch = ' ';
  }
  // Items are separated by single commas; each is decimal digits only (no sign, no empty item:
  // "1,2," and "+5" are mistakes, not ids).
  size_t i = 0;
  while (true) {
    size_t comma = s.find(',', i);
    std::string item = s.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (item.empty() && comma == std::string::npos && ids.empty()) break;  // no ids at all: reported below
    const bool digits = !item.empty() && item.find_first_not_of("0123456789") == std::string::npos;
    errno = 0;
    long long v = digits ? std::strtoll(item.c_str(), nullptr, 10) : -1;
    if (!digits || errno == ERANGE || v > INT32_MAX) {
      throw CommandLineError("--ids: '" + item + "' is not a token id (expected comma-separated non-negative integers)");
    }
    ids.push_back(static_cast<int32_t>(v));
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
  if (ids.empty()) throw CommandLineError("--ids: no token ids given");
  return ids;
}

// NumPy .npy format 1.0: magic, header dict padded so the data starts at a multiple of 64.
void write_npy(const std::filesystem::path& out, const std::vector<float>& data, int64_t rows, int64_t cols) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string file;
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  file.append(reinterpret_cast<const char*>(magic), 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  file += static_cast<char>(len & 0xff);
  file += static_cast<char>(len >> 8);
  file += header;
  file.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  // The conversations' writer: a temporary file made with mkstemp, renamed over a regular file or
  // nothing (never over a device, FIFO or link). Mode as an ordinary new file: 0666 less the umask.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  write_file_atomically(out, file, {}, 0666 & ~mask);
}

}  // namespace

int cmd_logits(const Args& args) {
  try {
    CommandLine cl(args, {"--model", "--ids", "--out", "--threads", "--chunk", "--type", "--cache-type"}, {"--incremental", "--help"},
                   {{"-t", "--threads"}, {"-h", "--help"}});
    if (cl.has("--help")) {
      std::fputs(kLogitsHelp, stdout);
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    if (!cl.get("--ids")) throw CommandLineError("--ids is required");
    if (!cl.get("--out")) throw CommandLineError("--out is required");
    std::vector<int32_t> ids = parse_ids(*cl.get("--ids"));
    LoadOptions options;
    options.threads = static_cast<int>(cl.get_int("--threads", 0, 0, 1024));
    options.weight_type = parse_weight_type("--type", cl.get_or("--type", "native")).type;
    options.output_weight_type = options.weight_type;
    const int chunk = static_cast<int>(cl.get_int("--chunk", 64, 1, 1 << 20));
    ContextOptions context_options;
    context_options.cache_type = parse_cache_type_option(cl.get_or("--cache-type", "f32"));
    const std::string model_dir = cl.get_or("--model", default_model_dir());

    auto model = while_allocating("the model " + model_dir, [&] { return Model::load(model_dir, options); });
    const int64_t vocab = model->config().vocab_size;
    const int64_t n = static_cast<int64_t>(ids.size());
    auto context = InferenceContext::create(*model, static_cast<int>(n), context_options);
    context->set_prefill_chunk(chunk);
    std::vector<float> logits(static_cast<size_t>(n * vocab));
    if (cl.has("--incremental")) {
      for (int64_t i = 0; i < n; ++i) {
        context->append(std::span<const int32_t>(ids.data() + i, 1), std::span<float>(logits.data() + i * vocab, vocab));
      }
    } else {
      context->append(ids, {}, nullptr, logits);
    }
    write_npy(*cl.get("--out"), logits, n, vocab);
    return 0;
  } catch (const std::exception& e) {
    return report_error("logits", error_message(e));
  }
}

}  // namespace dschat
