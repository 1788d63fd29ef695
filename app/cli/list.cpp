// dschat list: the models of the models directory ($XDG_DATA_HOME/dschat/models/), the names
// --model NAME takes: name, format, size and when it last changed, as `ollama list`.
#include <cstdio>
#include <ctime>

#include "app/chat/models_directory.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/terminal_safe_text.h"
#include "app/tui/transcript.h"

namespace dschat {

namespace {

std::string modified_text(std::filesystem::file_time_type when) {
  const auto system = std::chrono::file_clock::to_sys(when);
  const std::time_t t = std::chrono::system_clock::to_time_t(system);
  std::tm local{};
  if (!::localtime_r(&t, &local)) return "";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &local);
  return text;
}

}  // namespace

int cmd_list(const Args& args) {
  try {
    CommandLine cl(args, {}, {"--help"}, {{"-h", "--help"}});
    if (cl.has("--help")) {
      std::fputs("usage: dschat list\n"
                 "  Lists the models in $XDG_DATA_HOME/dschat/models/ (default ~/.local/share/dschat/models/):\n"
                 "  name, format, size and last change. Put a model directory, a .gguf or .pt file there (or a\n"
                 "  symbolic link to one) and chat with it by name: dschat --model NAME.\n"
                 "  -h, --help        this help\n",
                 stdout);
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    const std::filesystem::path dir = default_models_dir();
    const std::vector<ModelEntry> models = list_models(dir);
    if (models.empty()) {
      std::fprintf(stderr, "no models in %s (put a model directory or a .gguf file there, or a symbolic link to one)\n",
                   terminal_safe_text(dir.string()).c_str());
      return 0;
    }
    size_t width = 4;
    for (const ModelEntry& m : models) width = std::max(width, m.name.size());
    std::printf("%-*s  %-11s  %10s  %s\n", static_cast<int>(width), "NAME", "FORMAT", "SIZE", "MODIFIED");
    for (const ModelEntry& m : models) {
      std::printf("%-*s  %-11s  %10s  %s\n", static_cast<int>(width), terminal_safe_text(m.name).c_str(), m.format.c_str(),
                  format_bytes(static_cast<double>(m.bytes)).c_str(), modified_text(m.modified).c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    report_error("list", e.what());
    return 2;
  }
}

}  // namespace dschat
