// dschat convert --model SRC --out FILE.gguf --type T: any model dschat loads, written as a GGUF
// file of llama.cpp's architecture deepseek2 (engine/gguf_export.h), its tokenizer and chat
// template in the metadata. Progress on stderr; a summary at the end.
#include <chrono>
#include <cstdio>
#include <string>

#include "app/backend/loaded_model.h"
#include "app/backend/model_tokenizer.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/terminal_safe_text.h"
#include "common/out_of_memory.h"
#include "engine/gguf_export.h"
#include "engine/model.h"

namespace dschat {
namespace {

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

int cmd_convert(const Args& args) {
  try {
    CommandLine cl(args, {"--model", "--out", "--type", "--threads"}, {"--help", "--quiet", "--keep-mtp"},
                   {{"-o", "--out"}, {"-t", "--threads"}, {"-q", "--quiet"}, {"-h", "--help"}});
    if (cl.has("--help")) {
      std::printf(
          "usage: dschat convert --model SRC --out FILE.gguf --type TYPE [--keep-mtp] [-t N] [-q]\n"
          "  Writes the model SRC (a Hugging Face or MLX directory, a .pt checkpoint, a .gguf file) as a\n"
          "  GGUF file of llama.cpp's architecture deepseek2, with its tokenizer and chat template, that\n"
          "  dschat and llama.cpp run without converting at every start.\n"
          "  --model SRC       the model to convert (default: the bundled model)\n"
          "  -o, --out FILE    the GGUF file to write (replaced only when it is a regular file; written\n"
          "                    to a temporary file beside it and renamed: a failed convert leaves nothing)\n"
          "  --type TYPE       %s: the file type; the _M mixes and\n"
          "                    q6_k give each tensor the type llama-quantize does (output Q6_K, some\n"
          "                    ffn_down Q6_K, rows not of 256 values Q5_0/Q5_1/Q8_0); norms and\n"
          "                    routers stay F32\n"
          "  --keep-mtp        keep the multi-token-prediction module(s) as llama.cpp's nextn blocks\n"
          "                    (deepseek2.nextn_predict_layers), for dschat's speculative decoding;\n"
          "                    llama.cpp's deepseek2 loader refuses such a file (\"wrong number of\n"
          "                    tensors\"), so by default they are dropped\n"
          "  -t, --threads N   threads quantizing (default: all)\n"
          "  -q, --quiet       no progress on stderr\n"
          "  -h, --help        this help\n",
          gguf_file_type_names());
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    const auto out = cl.get("--out");
    if (!out || out->empty()) throw CommandLineError("--out FILE.gguf is required");
    const auto type_text = cl.get("--type");
    if (!type_text) throw CommandLineError(std::string("--type is required (") + gguf_file_type_names() + ")");
    const auto type = parse_gguf_file_type(*type_text);
    if (!type) {
      throw CommandLineError("--type '" + *type_text + "' is not a GGUF file type dschat writes (" +
                             gguf_file_type_names() + ")");
    }
    const std::string src = cl.get_or("--model", default_model_dir());
    const bool quiet = cl.has("--quiet");
    const int threads = static_cast<int>(cl.get_int("--threads", 0, 0, 1024));
    const auto start = std::chrono::steady_clock::now();

    LoadOptions load;
    load.threads = threads;
    load.repack = false;  // the export reads the stored rows
    auto model = while_allocating("the model " + src, [&] { return Model::load(src, load); });
    GgufExportOptions options;
    options.mtp = cl.has("--keep-mtp");
    const std::vector<std::string> notices = gguf_export_notices(*model, options);  // refuses what deepseek2 cannot express
    options.type = *type;
    options.threads = threads;
    options.tokenizer = gguf_vocabulary_metadata(model_gguf_vocabulary(src, model->config().vocab_size));
    int last = -1;
    if (!quiet) {
      options.progress = [&](uint64_t done, uint64_t total) {
        const int percent = total ? static_cast<int>(done * 100 / total) : 100;
        if (percent != last) {
          std::fprintf(stderr, "\rdschat convert: writing %s: %3d%%", out->c_str(), percent);
          std::fflush(stderr);
          last = percent;
        }
        return true;
      };
    }
    for (const std::string& n : notices) std::fprintf(stderr, "dschat convert: note: %s\n", terminal_safe_text(n).c_str());
    const GgufExportSummary s = export_gguf(*model, *out, options);
    if (!quiet) std::fputs("\n", stderr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %s, %zu tensors, %s in %.1f s\n", terminal_safe_text(*out).c_str(), gguf_file_type_name(*type),
                s.tensor_count, mib(s.file_bytes).c_str(), seconds);
    for (const auto& t : s.types) std::printf("  %-5s %4d tensors  %s\n", t.type.c_str(), t.tensors, mib(t.bytes).c_str());
    return 0;
  } catch (const std::exception& e) {
    return report_error("convert", error_message(e));
  }
}

}  // namespace dschat
