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


def _ends_with_abbreviation(fragment: str, next_word: str, keep_lists: bool = False) -> bool:
    m = _LAST_WORD.search(fragment)
    if not m:
        return False
    word = m.group(1)
    if not word.endswith("."):
        return False
    # "3\." is a Markdown-escaped "3." (a date in a law's Markdown text: "vom 3\. März 2015")
    core = word.rstrip(".").rstrip("\\").lstrip("(„\"").lower()
    if core.isdigit():
        # "1. Januar", "18. Lebensjahr" and a list item "1." are no sentence end; "Anlage 1. Neuer Satz" is.
        # A list item follows a comma, colon or semicolon ("…, 2. Wehrdienst") or a lower-case word
        # ("gilt nicht für 1. Spätaussiedler"); a reference ("Absatz 1.", "Anlage 1.") ends a sentence.
        before = fragment[: m.start()].rstrip()
        previous = before.rsplit(None, 1)[-1] if before else ""
        enumerates = previous.endswith((",", ":", ";")) or previous.isalpha() and previous.islower()
        return next_word.lower().strip(",.") in MONTHS or fragment.strip() == word or keep_lists and enumerates
    return core in ABBREVIATIONS or ("." in core and len(core) <= 6) or len(core) == 1


_ENUMERATOR = re.compile(r"^(\d{1,2}\.|[a-z]\))$")


def split_sentences(text: str, keep_lists: bool = False) -> list[str]:
    """Split at . ! ? ; followed by a capital, digit or bracket — unless the period ends an abbreviation.
    keep_lists: a numbered list stays inside its sentence ("… gilt nicht für 1. Spätaussiedler …;
    2. Asylbewerber …"), for marking answers; chunking cuts at every item."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        fragment = text[start : m.start()]
        next_word = text[m.end() :].split(maxsplit=1)[0] if text[m.end() :].strip() else ""
        if fragment.rstrip().endswith(".") and _ends_with_abbreviation(fragment, next_word, keep_lists):
            continue
        if keep_lists and fragment.rstrip().endswith(";") and _ENUMERATOR.match(next_word):
            continue
        if fragment.strip():
            sentences.append(fragment.strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
