#include "app/tui/readline.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <stdexcept>

// readline's headers need stdio first.
#include <readline/history.h>
#include <readline/readline.h>

namespace dschat {
namespace {

struct ReadlineState {
  std::deque<unsigned char> pending;  // bytes readline has not read yet
  ReadlineInput::LineHandler on_line;
  bool changed = true;
  FILE* null_out = nullptr;
  std::string prompt = ">>> ";
};
ReadlineState* state = nullptr;

int read_byte(FILE*) {
  // Never return EOF while readline is inside a key: the feed loop only calls readline when a
  // byte is queued; EOF here would make readline accept the line.
  if (!state || state->pending.empty()) return '\x07';  // abort (bell goes to /dev/null)
  unsigned char c = state->pending.front();
  state->pending.pop_front();
  return c;
}

int input_available() { return state && !state->pending.empty(); }

void mark_changed() {
  if (state) state->changed = true;
}

void line_callback(char* line) {
  if (!line) return;  // EOF: the app handles Ctrl+D itself
  std::string text(line);
  std::free(line);
  if (state && state->on_line) state->on_line(text);
}

}  // namespace

ReadlineInput::ReadlineInput(LineHandler on_line, const std::vector<std::string>& history) {
  if (state) throw std::logic_error("only one ReadlineInput at a time");
  state = new ReadlineState;
  state->on_line = std::move(on_line);
  state->null_out = std::fopen("/dev/null", "w");
  rl_readline_name = "dschat";
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;  // keep LINES/COLUMNS out of the environment (curses owns the size)
  rl_prep_term_function = nullptr;
  rl_deprep_term_function = nullptr;
  rl_outstream = state->null_out;
  rl_getc_function = read_byte;
  rl_input_available_hook = input_available;
  rl_redisplay_function = mark_changed;
  rl_variable_bind("enable-bracketed-paste", "off");  // the app decodes pastes itself
  rl_variable_bind("bell-style", "none");
  rl_variable_bind("horizontal-scroll-mode", "off");
  rl_bind_key('\t', rl_insert);  // no file-name completion: a tab is a tab
  using_history();
  stifle_history(1000);
  for (const std::string& entry : history) ::add_history(entry.c_str());
  rl_callback_handler_install(state->prompt.c_str(), line_callback);
}

ReadlineInput::~ReadlineInput() {
  rl_callback_handler_remove();
  rl_getc_function = rl_getc;
  rl_input_available_hook = nullptr;
  rl_redisplay_function = rl_redisplay;
  rl_outstream = nullptr;
  if (state->null_out) std::fclose(state->null_out);
  delete state;
  state = nullptr;
}

void ReadlineInput::feed(std::string_view bytes) {
  for (char c : bytes) state->pending.push_back(static_cast<unsigned char>(c));
  while (!state->pending.empty()) rl_callback_read_char();
  state->changed = true;
}

void ReadlineInput::insert(std::string_view text) {
  std::string copy(text);
  rl_insert_text(copy.c_str());
  state->changed = true;
}

void ReadlineInput::clear_line() {
  if (searching() || rl_numeric_arg != 1 || RL_ISSTATE(RL_STATE_NUMERICARG | RL_STATE_MOREINPUT)) feed("\x07");
  rl_replace_line("", 1);
  rl_point = rl_end = 0;
  state->changed = true;
}

void ReadlineInput::set_prompt(const std::string& prompt) {
  if (prompt == state->prompt) return;
  state->prompt = prompt;
  rl_set_prompt(state->prompt.c_str());
  state->changed = true;
}

void ReadlineInput::add_history(const std::string& entry) { ::add_history(entry.c_str()); }

std::string ReadlineInput::display_prompt() const { return rl_display_prompt ? rl_display_prompt : state->prompt; }
std::string ReadlineInput::buffer() const { return rl_line_buffer ? std::string(rl_line_buffer, static_cast<size_t>(rl_end)) : ""; }
size_t ReadlineInput::point() const { return static_cast<size_t>(rl_point); }
bool ReadlineInput::line_empty() const { return rl_end == 0; }
bool ReadlineInput::searching() const { return RL_ISSTATE(RL_STATE_ISEARCH | RL_STATE_NSEARCH) != 0; }

bool ReadlineInput::take_changed() {
  bool changed = state->changed;
  state->changed = false;
  return changed;
}

}  // namespace dschat
