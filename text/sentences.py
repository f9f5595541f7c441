"""German sentence splitting that respects the abbreviations of legal and administrative text."""

from __future__ import annotations

import re

# Lower-cased, without the final period. "Abs. 2", "Nr. 3", "z. B.", "i. V. m." must not end a sentence.
ABBREVIATIONS = {
    "abs", "nr", "nrn", "s", "art", "artt", "bzw", "vgl", "z", "b", "d", "h", "u", "a", "o", "ä", "i", "v", "m",
    "gem", "ggf", "evtl", "ca", "usw", "etc", "inkl", "zzgl", "abzgl", "bzgl", "ff", "f", "lit", "buchst",
    "satz", "kap", "anl", "anh", "ziff", "dr", "prof", "hr", "fr", "str", "tel", "geb", "verh", "ledig",
    "gesch", "verw", "bgbl", "bl", "jan", "feb", "febr", "mär", "apr", "jun", "jul", "aug", "sep", "sept",
    "okt", "nov", "dez", "mio", "mrd", "std", "min", "sek", "max", "mind", "zt", "ua", "uä", "sog", "allg",
    "amtl", "entspr", "einschl", "ausschl", "erforderl", "grds", "hs", "rn", "rdnr", "aufl", "nachw",
}
_BOUNDARY = re.compile(r"(?<=[.!?;])[\"”“']?\s+(?=[\"„“(]?[A-ZÄÖÜ0-9(§„])")
_LAST_WORD = re.compile(r"(\S+)\s*$")


MONTHS = {"januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "dezember", "jänner", "lebensjahr", "lebensjahres", "lebensjahrs", "kalenderjahr", "monat",
          "monats", "woche", "tag", "tages", "grades", "klasse", "stufe", "oktober"}


def _ends_with_abbreviation(fragment: str, next_word: str) -> bool:
    m = _LAST_WORD.search(fragment)
    if not m:
        return False
    word = m.group(1)
    if not word.endswith("."):
        return False
    core = word.rstrip(".").lstrip("(„\"").lower()
    if core.isdigit():
        # "1. Januar", "18. Lebensjahr" and a list item "1." are no sentence end; "Anlage 1. Neuer Satz" is.
        return next_word.lower().strip(",.") in MONTHS or fragment.strip() == word
    return core in ABBREVIATIONS or ("." in core and len(core) <= 6) or len(core) == 1


def split_sentences(text: str) -> list[str]:
    """Split at . ! ? ; followed by a capital, digit or bracket — unless the period ends an abbreviation."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        fragment = text[start : m.start()]
        next_word = text[m.end() :].split(maxsplit=1)[0] if text[m.end() :].strip() else ""
        if fragment.rstrip().endswith(".") and _ends_with_abbreviation(fragment, next_word):
            continue
        if fragment.strip():
            sentences.append(fragment.strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
