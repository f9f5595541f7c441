"""Text as people type it into forms and search boxes: control and invisible formatting
characters out (a question, a comment, a reason), runs of whitespace to one space."""

from __future__ import annotations

import re

# C0/C1 controls, zero-width and bidirectional marks, the byte-order mark
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def one_line(text: str | None) -> str:
    """The text on one line without invisible characters; blank means empty."""
    return " ".join(_INVISIBLE.sub(" ", text or "").split())


def lines(text: str | None) -> str:
    """Each line cleaned like one_line, the line breaks kept (a comment of several lines)."""
    return "\n".join(one_line(line) for line in (text or "").replace("\r\n", "\n").split("\n")).strip()
