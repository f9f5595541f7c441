"""Repair broken PDF text layers before they are judged usable (or sent to OCR).

Seen in the Federal Law Gazette forms:
- one character per line ("V\\no\\nr\\nd\\ne\\nr..."), blank lines between words;
- letter-spaced words ("A l l g e m e i n e  F a s s u n g");
- fonts whose codes are shifted by one ("Cmbuu!2;!Bousbh" for "Blatt 1: Antrag").
"""

from __future__ import annotations

import re

from text.analyze import STOPWORDS

_COMMON = STOPWORDS | {"antrag", "blatt", "name", "datum", "kind", "bitte", "angaben", "anschrift", "straße", "ort"}


def join_vertical_text(page: str) -> str:
    """One character per line: join the characters; a blank line is a space between words."""
    lines = page.split("\n")
    nonblank = [line for line in lines if line.strip()]
    if len(nonblank) < 20 or sum(len(line.strip()) == 1 for line in nonblank) < 0.6 * len(nonblank):
        return page
    # one blank line between characters is a space; several mark a wider gap between
    # letter-spaced words ("B U N D E S   R E P U B L I K"), kept for join_letter_spacing
    out: list[str] = []
    blanks = 0
    for line in lines:
        s = line.strip()
        if not s:
            blanks += 1
            continue
        if out:
            out.append("" if blanks == 0 and len(s) == 1 else ("  " if blanks > 1 else " "))
        out.append(s)
        blanks = 0
    return "".join(out)


def join_letter_spacing(line: str) -> str:
    """"A l l g e m e i n e  F a s s u n g" → "Allgemeine Fassung" (words stay apart at wider gaps)."""
    segments = re.split(r"(\s{2,})", line)
    out = []
    for seg in segments:
        tokens = seg.strip().split(" ")
        if len(tokens) >= 3 and all(len(t) == 1 for t in tokens) and sum(t.isalpha() for t in tokens) >= 3:
            out.append("".join(tokens))
        else:
            out.append(seg)
    return "".join(out)


def _common_words(text: str) -> int:
    return sum(1 for w in re.findall(r"[A-Za-zÄÖÜäöüß]+", text) if w.lower() in _COMMON)


def _shift(text: str, by: int) -> str:
    return "".join(chr(ord(c) + by) if 0x21 <= ord(c) <= 0x7E and 0x20 <= ord(c) + by <= 0x7E else c for c in text)


def unshift_line(line: str) -> str:
    """Undo a font encoding shifted by one code point, when that turns noise into German."""
    if _common_words(line) or len(line) < 6:
        return line
    shifted = _shift(line, -1)
    return shifted if _common_words(shifted) >= 1 and shifted.count(" ") >= 1 else line


def repair_page(page: str) -> str:
    page = join_vertical_text(page)
    return "\n".join(unshift_line(join_letter_spacing(line)) for line in page.split("\n"))
