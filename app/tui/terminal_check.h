// Whether the chat window can run on this terminal, decided before curses starts:
//  - the locale: the window works in UTF-8 whatever the locale says (LC_ALL=C, LANG unset), since
//    curses and readline in a byte locale show typed non-ASCII text as '?' and turn its bytes into
//    Meta keys; use_utf8_locale() switches LC_CTYPE (and the environment readline reads it from) to
//    a UTF-8 locale when the current one is not;
//  - the terminal type: TERM unset, dumb, without a terminfo entry, or without cursor addressing
//    cannot hold a full-screen window; the chat then falls back to the plain line interface.
#pragma once

#include <string>

namespace dschat {

// "" when LC_CTYPE is (now) UTF-8; else why it could not be made so.
std::string use_utf8_locale();

// "" when $TERM can run the chat window; else a short reason, e.g. "TERM=dumb" or
// "TERM=xterm-kitty has no terminfo entry".
std::string terminal_unusable_reason();

}  // namespace dschat
