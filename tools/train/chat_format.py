"""The chat template of the bundled model: dschat's built-in `plain` template
(app/chat/chat_template.cpp, Kind::Plain), rendered here exactly as the app renders it:

    User: <content>\n            (each user message)
    Assistant: <content>\n       (each assistant message)
    Assistant:                   (generation prompt)

No special tokens; a reply ends at the stop strings "\nUser:" / "\nAssistant:" or at eos. The app strips the
leading space of a reply (" In the ..." is stored as "In the ..."), so a stored conversation
renders to the same tokens the model generated. Training conversations are separated by
<|endoftext|> (document boundary, GPT-2 style), so eos also ends a reply.
"""
from dataclasses import dataclass

TEMPLATE_NAME = "plain"
EOS = "<|endoftext|>"
SPECIAL_IDS = {EOS: 50256}
STOP_STRINGS = ["\nUser:", "\nAssistant:"]  # app/chat/chat_template.cpp, Kind::Plain


@dataclass
class Piece:
    text: str
    special: bool = False


def render_text(messages, add_generation_prompt=False, system=""):
    out = system + "\n\n" if system else ""
    for m in messages:
        if m["role"] == "user":
            out += "User: " + m["content"] + "\n"
        elif m["role"] == "assistant":
            out += "Assistant: " + m["content"] + "\n"
    if add_generation_prompt:
        out += "Assistant:"
    return out


def render_pieces(messages):
    """One training conversation: its text, then the document separator eos."""
    return [Piece(render_text(messages)), Piece(EOS, True)]
