// The chat TUI: the UI thread's event loop. It polls the keyboard, the inference worker's
// eventfd and a self-pipe for signals; keys go through InputDecoder/decide_key to readline or to
// actions; worker events update the Transcript view model; frames are drawn at most every
// ~16 ms. On exit (Ctrl+D, /bye, SIGTERM, SIGHUP) the running reply is stopped and kept, the
// session has autosaved the conversation, the history is written, the terminal restored, and
// the caller gets the last screen to print on the normal screen.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/chat/inference_worker.h"
#include "app/tui/transcript.h"

namespace dschat {

struct ChatAppOptions {
  std::string model_label;                // shown before the model has loaded
  std::filesystem::path resume;           // conversation to reopen after loading ("" = none)
  std::string resume_notice;              // e.g. "no earlier conversation to resume"
  std::filesystem::path history_path;     // "" = no history file
  std::filesystem::path conversations_dir;  // for /list and /load N ("" = the default directory)
  bool colour = true;
  bool mouse = true;  // report the mouse wheel (DECSET 1000/1006; Shift+drag still selects)
  bool markdown = true;                   // /set markdown (the config file's "markdown")
  ThinkDisplay think = ThinkDisplay::Fold;  // /set think (the config file's "think")
};

// What stays on the normal screen after the window (the alternate screen) closes: the lines of
// the transcript that were in view, then the line naming the saved file and how to resume it.
struct ChatExitView {
  std::vector<std::string> lines;  // as shown (not yet made terminal-safe)
  std::string resume;              // resume_line() of the saved file, "" when nothing was saved
};

// Runs the chat on the terminal until the user leaves. Returns the exit status; `exit_view`
// (when given) receives what to print once the window has closed.
int run_chat_tui(std::unique_ptr<ChatBackend> backend, const ChatAppOptions& options,
                 ChatExitView* exit_view = nullptr);

}  // namespace dschat
