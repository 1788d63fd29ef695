#include "app/tui/terminal_check.h"

#include <langinfo.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <string_view>

#include <curses.h>
#include <term.h>

namespace dschat {
namespace {

bool codeset_is_utf8() {
  std::string_view codeset = nl_langinfo(CODESET);
  return codeset == "UTF-8" || codeset == "utf8";
}

}  // namespace

std::string use_utf8_locale() {
  if (codeset_is_utf8()) return "";
  for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
    if (!std::setlocale(LC_CTYPE, name)) continue;
    // readline sets LC_CTYPE again from LC_ALL / LC_CTYPE / LANG when it initialises, so the
    // environment must say the same (only this process and what it starts see it).
    setenv("LC_CTYPE", name, 1);
    if (const char* all = std::getenv("LC_ALL"); all && *all) setenv("LC_ALL", name, 1);
    if (codeset_is_utf8()) return "";
  }
  const char* ctype = std::setlocale(LC_CTYPE, nullptr);
  return std::string("the locale (") + (ctype ? ctype : "?") + ") is not UTF-8 and no UTF-8 locale is installed";
}

std::string terminal_unusable_reason() {
  const char* term = std::getenv("TERM");
  if (!term || !*term) return "TERM is not set";
  std::string name(term);
  if (name == "dumb") return "TERM=dumb";
  int error = 0;
  if (setupterm(term, STDOUT_FILENO, &error) != OK) return "TERM=" + name + " has no terminfo entry";
  // Quoted: tigetstr takes a char* in older headers.
  char cup[] = "cup";
  const char* move = tigetstr(cup);
  bool can_move = move && move != reinterpret_cast<const char*>(-1);
  del_curterm(cur_term);
  if (!can_move) return "TERM=" + name + " cannot move the cursor";
  return "";
}

}  // namespace dschat
