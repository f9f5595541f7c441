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
_WORD = re.compile(r"\S+")


MONTHS = {"januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "dezember", "jänner", "lebensjahr", "lebensjahres", "lebensjahrs", "kalenderjahr", "monat",
          "monats", "woche", "tag", "tages", "grades", "klasse", "stufe", "oktober"}

# A list item "1." (or "a)") inside a sentence: after a comma, colon or semicolon ("…, 2. Wehrdienst")
# or a lower-case word ("gilt nicht für 1. Spätaussiedler", "Ordnungswidrig handelt, wer 1. …"), and
# not a date ("am 1. Januar"). The match is the gap before the item's number.
LIST_ITEM = re.compile(r"(?:(?<=[,:;])|(?<=[a-zäöüß]))\s+(?=(?:\d{1,2}\.|[a-z]\))\s+(?!(?i:%s)\b)\S)"
                       % "|".join(sorted(MONTHS)))
_ENUMERATOR = re.compile(r"^(\d{1,2}\.|[a-z]\))$")


def _last_words(fragment: str) -> tuple[str, str]:
    """The last word of a fragment and the one before it (cheap on long fragments)."""
    words = fragment[-200:].rsplit(None, 2)
    return (words[-1] if words else ""), (words[-2] if len(words) > 1 else "")


def ends_with_abbreviation(fragment: str, next_word: str, keep_lists: bool = False) -> bool:
    """The fragment's final period belongs to an abbreviation, a date or an ordinal ("Abs.",
    "1. Januar"), not to the end of a sentence (next_word: the word after it)."""
    word, previous = _last_words(fragment)
    if not word.endswith("."):
        return False
    # "3\." is a Markdown-escaped "3." (a date in a law's Markdown text: "vom 3\. März 2015")
    core = word.rstrip(".").rstrip("\\").lstrip("(„\"").lower()
    if core.isdigit():
        # "1. Januar", "18. Lebensjahr" and a list item "1." are no sentence end; "Anlage 1. Neuer Satz",
        # "Absatz 1." (a reference) and "bis 2030." (a year) are.
        enumerates = len(core) <= 2 and (previous.endswith((",", ":", ";")) or previous.isalpha() and previous.islower())
        return next_word.lower().strip(",.") in MONTHS or fragment.strip() == word or keep_lists and enumerates
    return core in ABBREVIATIONS or ("." in core and len(core) <= 6) or len(core) == 1


def split_sentences(text: str, keep_lists: bool = False) -> list[str]:
    """Split at . ! ? ; followed by a capital, digit or bracket — unless the period ends an abbreviation.
    keep_lists: a numbered list stays inside its sentence ("… gilt nicht für 1. Spätaussiedler …;
    2. Asylbewerber …"), for marking answers; chunking cuts at every item."""
    sentences: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        fragment = text[start : m.start()]
        following = _WORD.match(text, m.end())
        next_word = following.group() if following else ""
        if fragment.rstrip().endswith(".") and ends_with_abbreviation(fragment, next_word, keep_lists):
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
