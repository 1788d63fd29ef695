#include "app/tui/readline.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <cstring>
#include <stdexcept>

#include "app/chat/chat_completion.h"

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
  std::vector<std::string> candidates;  // of the completion in progress
  std::function<void(const std::vector<std::string>&)> show_candidates;
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

char* next_candidate(const char*, int index) {
  static size_t next = 0;
  if (index == 0) next = 0;
  if (!state || next >= state->candidates.size()) return nullptr;
  return strdup(state->candidates[next++].c_str());  // readline frees it
}

// The candidates of app/chat/chat_completion.h for the word before the cursor; readline's word
// (`text`, words broken at spaces only) starts where ours does.
char** attempted_completion(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // never readline's own file-name completion
  if (!state) return nullptr;
  state->candidates = complete_chat_input(std::string_view(rl_line_buffer, static_cast<size_t>(rl_point))).candidates;
  if (state->candidates.empty()) return nullptr;
  // A directory goes on being completed: no space after it.
  if (state->candidates.size() == 1 && state->candidates[0].ends_with('/')) rl_completion_suppress_append = 1;
  return rl_completion_matches(text, next_candidate);
}

void display_candidates(char** matches, int count, int) {
  if (!state || !state->show_candidates) return;
  std::vector<std::string> list;
  for (int i = 1; i <= count; ++i) list.emplace_back(matches[i]);
  state->show_candidates(list);
  state->changed = true;
}

// Tab: completion on a command line, a tab in a message.
int complete_or_insert(int count, int key) {
  if (rl_line_buffer && rl_line_buffer[0] == '/') return rl_complete(count, key);
  return rl_insert(count, key);
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
  rl_completer_word_break_characters = const_cast<char*>(" ");
  rl_completer_quote_characters = nullptr;
  rl_attempted_completion_function = attempted_completion;
  rl_completion_display_matches_hook = display_candidates;
  rl_variable_bind("show-all-if-ambiguous", "on");  // the candidates with the first Tab
  rl_variable_bind("completion-query-items", "0");  // never "Display all N possibilities? (y or n)"
  rl_bind_key('\t', complete_or_insert);
  using_history();
  stifle_history(1000);
  for (const std::string& entry : history) ::add_history(entry.c_str());
  rl_callback_handler_install(state->prompt.c_str(), line_callback);
}

ReadlineInput::~ReadlineInput() {
  rl_callback_handler_remove();
  rl_attempted_completion_function = nullptr;
  rl_completion_display_matches_hook = nullptr;
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

void ReadlineInput::set_completion_display(std::function<void(const std::vector<std::string>&)> show) {
  state->show_candidates = std::move(show);
}

bool ReadlineInput::take_changed() {
  bool changed = state->changed;
  state->changed = false;
  return changed;
}

}  // namespace dschat
