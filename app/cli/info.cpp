// dschat info --model DIR: configuration, parameter counts, memory, dtypes and load warnings.
#include <cstdio>

#include "app/cli/terminal_safe_text.h"
#include "app/backend/loaded_model.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/model_option.h"
#include "engine/model.h"
#include "common/out_of_memory.h"

namespace dschat {

int cmd_info(const Args& args) {
  try {
    CommandLine cl(args, {"--model", "--threads"}, {"--help"}, {{"-t", "--threads"}, {"-h", "--help"}});
    if (cl.has("--help")) {
      std::fputs("usage: dschat info [--model PATH] [-t N]\n"
                 "  Prints the model's configuration, parameter counts (total, active per token, per part),\n"
                 "  memory use, weight dtypes and any warnings from loading.\n"
                 "  --model PATH      model directory, .gguf or .pt file, or a NAME of dschat list\n"
                 "                    (default: $DSCHAT_MODEL_DIR, else the bundled model)\n"
                 "  -t, --threads N   threads for loading (default: 1)\n"
                 "  -h, --help        this help\n",
                 stdout);
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    LoadOptions options;
    options.threads = static_cast<int>(cl.get_int("--threads", 1, 0, 1024));
    options.repack = false;  // describes the file as stored
    const std::string model_dir = model_option(cl.get("--model"), UserConfig{}).string();  // a NAME from dschat list too
    auto model = while_allocating("the model " + model_dir, [&] { return Model::load(model_dir, options); });
    std::fputs(terminal_safe_text(model->describe()).c_str(), stdout);
    return 0;
  } catch (const std::exception& e) {
    return report_error("info", error_message(e));
  }
}

}  // namespace dschat
