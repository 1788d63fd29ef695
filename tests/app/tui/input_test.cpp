// Keyboard decoding, key decisions, """ blocks and the input-line layout (app/tui/input.h).
// Escape sequences are those xterm sends (ctlseqs: PC-style function keys, bracketed paste).
#include "app/chat/chat_commands.h"
#include "app/tui/input.h"

#include <gtest/gtest.h>

#include "app/tui/text_layout.h"

namespace dschat {
namespace {

using Kind = InputEvent::Kind;

std::vector<Kind> kinds(const std::vector<InputEvent>& events) {
  std::vector<Kind> k;
  for (const InputEvent& e : events) k.push_back(e.kind);
  return k;
}

TEST(TuiInputDecoder, SplitsControlKeysFromText) {
  InputDecoder d;
  auto events = d.feed("ab\x03" "cd\x04\x0c");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::Bytes, Kind::CtrlC, Kind::Bytes, Kind::CtrlD, Kind::CtrlL}));
  EXPECT_EQ(events[0].bytes, "ab");
  EXPECT_EQ(events[2].bytes, "cd");
}

TEST(TuiInputDecoder, RecognisesNavigationKeys) {
  InputDecoder d;
  auto events = d.feed("\x1b[5~\x1b[6~\x1b[H\x1b[F\x1bOH\x1b[1~\x1b[4~\x1b[1;5H\x1b[1;5F");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::PageUp, Kind::PageDown, Kind::Home, Kind::End, Kind::Home,
                                              Kind::Home, Kind::End, Kind::CtrlHome, Kind::CtrlEnd}));
  // Other arrows and Alt+letter go to readline unchanged; Up is a key of its own (it can take
  // back a queued message) that keeps its bytes for readline.
  events = d.feed("\x1b[B\x1b" "b");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::Bytes);
  EXPECT_EQ(events[0].bytes, "\x1b[B\x1b" "b");
  events = d.feed("\x1b[A\x1bOAx");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::Up, Kind::Up, Kind::Bytes}));
  EXPECT_EQ(events[0].bytes, "\x1b[A");
  EXPECT_EQ(events[1].bytes, "\x1bOA");
}

// xterm's SGR mouse reports (ctlseqs, "SGR (1006)"): CSI < Cb ; Cx ; Cy M for a press, m for a
// release; the wheel is buttons 64 (up) and 65 (down); modifiers add 4/8/16 (not the wheel then).
TEST(TuiInputDecoder, MouseWheelInSgrEncoding) {
  InputDecoder d;
  auto events = d.feed("\x1b[<64;10;5M\x1b[<65;300;120M\x1b[<0;3;4M\x1b[<0;3;4m\x1b[<68;1;1M");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::WheelUp, Kind::WheelDown, Kind::Mouse, Kind::Mouse, Kind::Mouse}));
  // A report split across reads is held until complete.
  events = d.feed("\x1b[<65;1");
  EXPECT_TRUE(events.empty());
  events = d.feed("2;7M");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::WheelDown}));
  EXPECT_EQ(decide_key(Kind::WheelUp, {}), KeyAction::ScrollLinesUp);
  EXPECT_EQ(decide_key(Kind::WheelDown, {.generating = true}), KeyAction::ScrollLinesDown);
  EXPECT_EQ(decide_key(Kind::Mouse, {}), KeyAction::Ignore);
}

TEST(TuiKeys, UpAndEscTakeBackAQueuedMessage) {
  // Nothing queued: Up is readline's history, Esc at the prompt does nothing.
  EXPECT_EQ(decide_key(Kind::Up, {}), KeyAction::Forward);
  EXPECT_EQ(decide_key(Kind::Escape, {}), KeyAction::Ignore);
  // Queued and the line empty: both take it back, during a reply too (Esc also stops it).
  EXPECT_EQ(decide_key(Kind::Up, {.has_queued = true}), KeyAction::TakeBackQueued);
  EXPECT_EQ(decide_key(Kind::Up, {.generating = true, .has_queued = true}), KeyAction::TakeBackQueued);
  EXPECT_EQ(decide_key(Kind::Escape, {.has_queued = true}), KeyAction::TakeBackQueued);
  EXPECT_EQ(decide_key(Kind::Escape, {.generating = true, .has_queued = true}), KeyAction::StopReplyAndTakeBack);
  // Ctrl+C only stops; a line being typed is never replaced.
  EXPECT_EQ(decide_key(Kind::CtrlC, {.generating = true, .has_queued = true}), KeyAction::StopReply);
  EXPECT_EQ(decide_key(Kind::Up, {.line_empty = false, .has_queued = true}), KeyAction::Forward);
  EXPECT_EQ(decide_key(Kind::Escape, {.generating = true, .line_empty = false, .has_queued = true}),
            KeyAction::StopReply);
  EXPECT_EQ(decide_key(Kind::Up, {.in_block = true, .has_queued = true}), KeyAction::Forward);
}

TEST(TuiInputDecoder, LoneEscapeNeedsTheTimeout) {
  InputDecoder d;
  EXPECT_TRUE(d.feed("\x1b").empty());
  EXPECT_TRUE(d.pending());
  auto events = d.flush();
  EXPECT_EQ(kinds(events), std::vector<Kind>{Kind::Escape});
  EXPECT_FALSE(d.pending());
  // A sequence split across reads is put back together.
  EXPECT_TRUE(d.feed("\x1b[").empty());
  events = d.feed("5~x");
  EXPECT_EQ(kinds(events), (std::vector<Kind>{Kind::PageUp, Kind::Bytes}));
}

TEST(TuiInputDecoder, AltEnterAndBracketedPaste) {
  InputDecoder d;
  EXPECT_EQ(kinds(d.feed("\x1b\r")), std::vector<Kind>{Kind::AltEnter});
  // Control bytes inside a paste are text; CR becomes a newline; the paste may span reads.
  auto events = d.feed("\x1b[200~line one\rline\x03 two");
  EXPECT_TRUE(events.empty());
  events = d.feed("\x1b[20");
  EXPECT_TRUE(events.empty());
  events = d.feed("1~\r");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::Paste);
  EXPECT_EQ(events[0].bytes, "line one\nline\x03 two");
  EXPECT_EQ(events[1].kind, Kind::Bytes);
  EXPECT_EQ(events[1].bytes, "\r");
}

TEST(TuiKeys, CtrlCDependsOnState) {
  KeyContext idle;
  EXPECT_EQ(decide_key(Kind::CtrlC, idle), KeyAction::ExitHint);
  KeyContext typed{.line_empty = false};
  EXPECT_EQ(decide_key(Kind::CtrlC, typed), KeyAction::ClearLine);
  KeyContext block{.in_block = true};
  EXPECT_EQ(decide_key(Kind::CtrlC, block), KeyAction::ClearLine);
  KeyContext generating{.generating = true, .line_empty = false};
  EXPECT_EQ(decide_key(Kind::CtrlC, generating), KeyAction::StopReply);
  EXPECT_EQ(decide_key(Kind::Escape, generating), KeyAction::StopReply);
  EXPECT_EQ(decide_key(Kind::Escape, idle), KeyAction::Ignore);
  KeyContext loading{.loading = true};
  EXPECT_EQ(decide_key(Kind::CtrlC, loading), KeyAction::CancelLoad);
}

TEST(TuiKeys, CtrlDHomeEnd) {
  KeyContext idle;
  KeyContext typed{.line_empty = false};
  EXPECT_EQ(decide_key(Kind::CtrlD, idle), KeyAction::Exit);
  EXPECT_EQ(decide_key(Kind::CtrlD, typed), KeyAction::Forward);
  EXPECT_EQ(decide_key(Kind::Home, idle), KeyAction::ScrollTop);
  EXPECT_EQ(decide_key(Kind::Home, typed), KeyAction::Forward);
  EXPECT_EQ(decide_key(Kind::End, idle), KeyAction::ScrollBottom);
  EXPECT_EQ(decide_key(Kind::CtrlEnd, typed), KeyAction::ScrollBottom);
  EXPECT_EQ(decide_key(Kind::PageUp, typed), KeyAction::ScrollPageUp);
  EXPECT_EQ(decide_key(Kind::AltEnter, idle), KeyAction::InsertNewline);
  EXPECT_EQ(decide_key(Kind::CtrlL, idle), KeyAction::Redraw);
}

TEST(TuiMultiline, TripleQuoteBlocks) {
  MultilineInput m;
  EXPECT_EQ(m.submit("plain"), "plain");
  EXPECT_EQ(m.submit("\"\"\"one line\"\"\""), "one line");
  EXPECT_EQ(m.submit("\"\"\""), std::nullopt);
  EXPECT_TRUE(m.in_block());
  EXPECT_EQ(m.submit("first"), std::nullopt);
  EXPECT_EQ(m.submit(""), std::nullopt);
  EXPECT_EQ(m.submit("third\"\"\""), "first\n\nthird");
  EXPECT_FALSE(m.in_block());
  EXPECT_EQ(m.submit("\"\"\"start"), std::nullopt);
  EXPECT_EQ(m.submit("\"\"\""), "start");
  // A command can open a block; the quotes are kept for the command parser.
  EXPECT_EQ(m.submit("/set system \"\"\""), std::nullopt);
  EXPECT_EQ(m.submit("Be brief.\"\"\""), "/set system \"\"\"Be brief.\"\"\"");
  EXPECT_EQ(m.submit("\"\"\"abandoned"), std::nullopt);
  m.reset();
  EXPECT_FALSE(m.in_block());
  EXPECT_EQ(m.submit("say \"\"\" here"), "say \"\"\" here");
}

TEST(TuiMultiline, ACommandOpensABlockAtItsQuotesAndTheTypedLinesStay) {
  MultilineInput m;
  EXPECT_EQ(m.submit("/set system \"\"\"You are"), std::nullopt);
  EXPECT_TRUE(m.in_block());
  EXPECT_EQ(m.typed(), "/set system \"\"\"You are");
  EXPECT_EQ(m.submit("a careful scribe."), std::nullopt);
  EXPECT_EQ(m.typed(), "/set system \"\"\"You are\na careful scribe.");
  std::optional<std::string> message = m.submit("\"\"\"");
  EXPECT_EQ(message, "/set system \"\"\"You are\na careful scribe.\"\"\"");
  EXPECT_EQ(m.typed(), "");
  // What the command parser makes of it: the block without its quotes is the system prompt.
  ChatCommand command = parse_chat_command(*message);
  EXPECT_EQ(command.kind, ChatCommand::Kind::SetSystem);
  EXPECT_EQ(command.text, "You are\na careful scribe.");
  // A command with two """ on its line is complete.
  EXPECT_EQ(m.submit("/set system \"\"\"Be brief.\"\"\""), "/set system \"\"\"Be brief.\"\"\"");
  EXPECT_FALSE(m.in_block());
}

TEST(TuiInputLayout, WrapsAndPlacesCursor) {
  InputLayout l = layout_input(">>> ", "... ", "hello", 5, 20);
  ASSERT_EQ(l.rows.size(), 1u);
  EXPECT_EQ(l.rows[0], ">>> hello");
  EXPECT_EQ(l.cursor_row, 0);
  EXPECT_EQ(l.cursor_col, 9);
  l = layout_input(">>> ", "... ", "hello", 0, 20);
  EXPECT_EQ(l.cursor_col, 4);
  // Width 8: ">>> abcd" fills row 0; the cursor after it moves to the next row.
  l = layout_input(">>> ", "... ", "abcd", 4, 8);
  ASSERT_EQ(l.rows.size(), 2u);
  EXPECT_EQ(l.cursor_row, 1);
  EXPECT_EQ(l.cursor_col, 0);
  l = layout_input(">>> ", "... ", "abcdefg", 5, 8);
  EXPECT_EQ(l.rows, (std::vector<std::string>{">>> abcd", "efg"}));
  EXPECT_EQ(l.cursor_row, 1);
  EXPECT_EQ(l.cursor_col, 1);
}

TEST(TuiInputLayout, WideCharactersNewlinesAndControls) {
  // 中文 after ">>> " at width 7: 中 fits (cols 4-5), 文 would end at 8 > 7 so it wraps.
  std::string text = "\xE4\xB8\xAD\xE6\x96\x87";
  InputLayout l = layout_input(">>> ", "... ", text, 3, 7);
  EXPECT_EQ(l.rows, (std::vector<std::string>{">>> \xE4\xB8\xAD", "\xE6\x96\x87"}));
  EXPECT_EQ(l.cursor_row, 1);
  EXPECT_EQ(l.cursor_col, 0);
  l = layout_input(">>> ", "... ", text, 6, 20);
  EXPECT_EQ(l.cursor_col, 8);
  l = layout_input(">>> ", "... ", "a\nb", 3, 20);
  EXPECT_EQ(l.rows, (std::vector<std::string>{">>> a", "... b"}));
  EXPECT_EQ(l.cursor_row, 1);
  EXPECT_EQ(l.cursor_col, 5);
  l = layout_input("> ", "", "x\x01y", 2, 20);
  EXPECT_EQ(l.rows[0], "> x^Ay");
  EXPECT_EQ(l.cursor_col, 5);
  for (const std::string& row : layout_input(">>> ", "... ", text + text + "abc" + text, 4, 5).rows) {
    EXPECT_LE(display_width(row), 5) << row;
  }
}

}  // namespace
}  // namespace dschat
