// The dschat subcommands. Each takes the arguments after its name and returns the exit status.
// Each lives in its own file (app/cli/<name>.cpp).
#pragma once

#include <string>
#include <vector>

namespace dschat {

using Args = std::vector<std::string>;

int cmd_chat(const Args& args);        // dschat [--model DIR] [--resume [FILE]]   (the TUI)
int cmd_run(const Args& args);         // dschat run ...
int cmd_tokenize(const Args& args);    // dschat tokenize ...
int cmd_detokenize(const Args& args);  // dschat detokenize ...
int cmd_logits(const Args& args);      // dschat logits ...
int cmd_bench(const Args& args);       // dschat bench ...
int cmd_info(const Args& args);
int cmd_convert(const Args& args);     // dschat convert --model SRC --out FILE.gguf --type T
int cmd_list(const Args& args);       // dschat list (the models directory)
int cmd_serve(const Args& args);      // dschat serve ... (the OpenAI-compatible HTTP server)
const char* chat_options_help();  // the option lines of `dschat --help` for the chat        // dschat info ...


// Prints "dschat <command>: <message>" (the chat, command "": "dschat: <message>") to stderr and returns
// exit status 1.
int report_error(const std::string& command, const std::string& message);

}  // namespace dschat
