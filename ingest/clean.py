"""Step 2: clean extracted text — Unicode, hyphenation, page furniture, garbage."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Words that follow a suspended compound ("Melde- und Passwesen"): keep the hyphen and the space.
_CONJUNCTIONS = {"und", "oder", "bzw", "sowie", "als", "bis", "noch", "wie"}
_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*(\w+)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def normalize_unicode(text: str) -> str:
    # NFKC folds ligatures (ﬁ → fi) and full-width forms; soft hyphens are invisible noise,
    # NUL bytes too (and PostgreSQL's text type refuses them)
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def join_hyphenation(text: str) -> str:
    """"Verwal-\\ntung" → "Verwaltung"; "EU-\\nRecht" → "EU-Recht"; "Melde-\\nund" stays apart."""

    def repl(m: re.Match) -> str:
        left, word = m.group(1), m.group(2)
        if word.lower() in _CONJUNCTIONS:
            return f"{left}- {word}"
        if word[0].isupper() or left.isdigit() or word[0].isdigit():
            return f"{left}-{word}"
        return f"{left}{word}"

    return _HYPHEN_BREAK.sub(repl, text)


def collapse_spaces(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _furniture_key(line: str) -> str:
    # Page numbers differ from page to page; the rest of a header line repeats.
    return re.sub(r"\d+", "#", line.strip().lower())


def drop_page_furniture(pages: list[str], edge_lines: int = 2, min_share: float = 0.6) -> list[str]:
    """Remove header/footer lines that repeat at the top or bottom of most pages."""
    if len(pages) < 3:
        return pages
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        edges = set(lines[:edge_lines] + lines[-edge_lines:])
        counts.update({_furniture_key(line) for line in edges})
    threshold = max(3, int(min_share * len(pages) + 0.999))
    repeated = {key for key, n in counts.items() if n >= threshold}
    if not repeated:
        return pages
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        nonempty = [i for i, line in enumerate(lines) if line.strip()]
        edge_idx = set(nonempty[:edge_lines] + nonempty[-edge_lines:])
        cleaned.append("\n".join(l for i, l in enumerate(lines) if not (i in edge_idx and _furniture_key(l) in repeated)))
    return cleaned


def is_usable(text: str, min_words: int = 3, min_word_share: float = 0.4) -> bool:
    """True when the text reads like language, not glyph names ("/g437") or font garbage."""
    tokens = text.split()
    if not tokens:
        return False
    words = [t for t in tokens if _WORD.search(t) and sum(c.isalpha() for c in t) >= 0.6 * len(t)]
    return len(words) >= min_words and len(words) / len(tokens) >= min_word_share


def clean_pages(pages: list[str], paginated: bool) -> list[str]:
    pages = [normalize_unicode(p) for p in pages]
    if paginated:
        pages = drop_page_furniture(pages)
    return [collapse_spaces(join_hyphenation(p)) for p in pages]
