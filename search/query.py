"""Query understanding: what the staff member typed → what the indexes look for.

- German analysis with the index's own compound splitter ("Wohnsitzanmeldung"
  → wohnsitz, anmeldung),
- synonyms and abbreviations of administrative German from an editable list
  (Perso → Personalausweis), added with a lower weight,
- words of everyday speech weigh less than the words of the trade,
- typo tolerance for rare words (corrected against the index vocabulary; words
  of ordinary German are not typos),
- citations ("§ 17 BMG", "§17 Abs. 2", "Paragraph 6 PAuswG", "Art. 3").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from wordfreq import zipf_frequency

from text.analyze import fold, is_stopword, stem, tokenize
from index.lexical import LexicalIndex, Vocabulary

EXPANSION_WEIGHT = 0.6
CORRECTION_WEIGHT = 0.5
COMPOUND_PART_WEIGHT = 0.6
# wordfreq's Zipf scale: 1.0 is about one occurrence per 100 million words;
# "Meldedaten" scores 1.8, "Personalauswies" 0.
GERMAN_WORD_ZIPF = 1.0
# everyday_weight: full weight below Zipf 4, falling linearly to the floor
EVERYDAY_FULL, EVERYDAY_SPAN, EVERYDAY_FLOOR = 7.0, 3.0, 0.3

_CITATION = re.compile(
    r"(?P<kind>§§?|paragraph|paragraf|par\.|art\.|artikel)\s*(?P<num>\d+(?:\s?(?-i:[a-z])(?![A-Za-zÄÖÜäöüß]))?)(?![\d])"
    r"(?:\s*(?:abs\.?|absatz)\s*\d+)?(?:\s*(?:s\.|satz)\s*\d+)?(?:\s*(?:nr\.?|nummer)\s*\d+)?"
    r"(?:\s+(?:des\s+|der\s+|im\s+|aus\s+dem\s+)?(?P<abbr>[A-ZÄÖÜ][A-Za-zÄÖÜäöüß]*[A-Z][A-Za-zÄÖÜäöüß]*))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Citation:
    kind: str  # "§" or "Art"
    number: str  # "17", "23a"
    abbr: str | None  # "BMG"


@dataclass
class ParsedQuery:
    text: str
    dense_text: str  # what the embedding model reads
    terms: dict[str, float]  # lexical terms with weights
    citations: list[Citation] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    expansions: list[str] = field(default_factory=list)


def is_german_word(word: str) -> bool:
    """Whether a word occurs in ordinary written German (wordfreq's German list,
    built from subtitles, news, Wikipedia and web text). Typos score 0 there."""
    return zipf_frequency(word, "de") >= GERMAN_WORD_ZIPF


def everyday_weight(word: str) -> float:
    """Weight of a question word by how common it is in ordinary German.

    BM25 knows only the documents: to a law, "morgen", "sagen" or "wissen" are
    rare and so look decisive, though in a question they only carry the
    conversation. Words of everyday speech (Zipf ≥ 4: "Monat", "sagen") weigh
    less, down to 0.3 for the most common (Zipf ≥ 6.1); words of the trade
    ("Meldebescheinigung", Zipf < 4) keep their full weight. Measured on
    XQuAD-de: BM25 nDCG@10 0.942 → 0.945.
    """
    z = zipf_frequency(word, "de")
    return max(EVERYDAY_FLOOR, min(1.0, (EVERYDAY_FULL - z) / EVERYDAY_SPAN))


def parse_citations(text: str) -> list[Citation]:
    out = []
    for m in _CITATION.finditer(text):
        kind = "Art" if m.group("kind").lower().startswith("art") else "§"
        abbr = m.group("abbr")
        # "§ 17 Abs. 2 Satz" leaves a plain word behind; only short names in capitals are law abbreviations.
        if abbr and (len(abbr) > 12 or sum(c.isupper() for c in abbr) < 2):
            abbr = None
        out.append(Citation(kind, m.group("num").replace(" ", "").lower(), abbr))
    return out


def find_citations(text: str) -> list[tuple[str, Citation]]:
    """Each citation in `text` as written ("§ 17 BMG") with its parsed form."""
    return [(" ".join(m.group(0).split()), c) for m, c in zip(_CITATION.finditer(text), parse_citations(text))]


def section_pattern(c: Citation) -> re.Pattern:
    """Matches the heading of the cited section inside a heading path."""
    number = re.escape(c.number)
    if c.kind == "Art":
        return re.compile(rf"(^|> )(Art\.?|Artikel)\s*{number}(?![\da-z])", re.I)
    return re.compile(rf"(^|> )§\s*{number}(?![\da-z])", re.I)


def parse_rules(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Rules of the synonym format: "words as staff type them = term, term" per line, # comments."""
    rules = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" not in line:
            continue
        left, right = line.split("=", 1)
        keys = tuple(stem(fold(w)) for w in tokenize(left))
        targets = [t.strip() for t in right.split(",") if t.strip()]
        if keys and targets:
            rules.append((keys, targets))
    return rules


# what an installation adds to the shipped list: (version, [(scope, collections it applies to, text)])
# for every scope there is, saved text or not; the version changes whenever a text or a scope's
# collections do (feedback/synonyms.py keeps the texts in the database)
ExtraRules = Callable[[], tuple[str, list[tuple[str, frozenset[str], str]]]]


class Synonyms:
    """The shipped list (data/synonyme.txt, re-read when the file changes) and the rules the
    knowledge officers keep per collection or tenant (`extra`), which apply to a search
    that covers one of their collections."""

    def __init__(self, path: Path | None, extra: ExtraRules | None = None):
        self.path = Path(path) if path else None
        self._mtime: float | None = None
        self.rules: list[tuple[tuple[str, ...], list[str]]] = []
        self.extra = extra
        self._extra_version: str | None = None
        self._extra: list[tuple[frozenset[str], tuple[str, ...], list[str]]] = []
        self._override: dict[str, tuple[str, frozenset[str] | None]] = {}

    def overriding(self, scope: str, text: str, collections: frozenset[str] | None = None) -> "Synonyms":
        """The same lists with one scope's text replaced (to measure a change before saving it);
        `collections`: where it applies, for a scope that has no list yet."""
        other = Synonyms(self.path, self.extra)
        other._override = {**self._override, scope: (text, collections)}
        return other

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            self.rules = []
        else:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                self.rules, self._mtime = parse_rules(self.path.read_text(encoding="utf-8")), mtime
        if self.extra is None:
            return
        version, texts = self.extra()
        if version == self._extra_version:
            return
        rules = []
        for scope, collections, text in texts:
            for keys, targets in parse_rules(self._override.get(scope, (text, None))[0]):
                rules.append((collections, keys, targets))
        for scope, (text, collections) in self._override.items():
            if collections and scope not in {s for s, _, _ in texts}:
                rules += [(collections, keys, targets) for keys, targets in parse_rules(text)]
        self._extra, self._extra_version = rules, version

    def matches(self, question_stems: set[str], scopes: frozenset[str] | None = None
                ) -> list[tuple[tuple[str, ...], list[str]]]:
        """The rules whose words all occur in the question: (their words, what they add). Rules
        of a collection count when the search covers it (`scopes`: the collections searched;
        None: all)."""
        self._load()
        found = [(keys, targets) for keys, targets in self.rules if all(k in question_stems for k in keys)]
        for collections, keys, targets in self._extra:
            if (scopes is None or collections & scopes) and all(k in question_stems for k in keys):
                found.append((keys, targets))
        return found

    def expansions(self, question_stems: set[str]) -> list[str]:
        out: list[str] = []
        for _, targets in self.matches(question_stems):
            out += [t for t in targets if t not in out]
        return out


class QueryParser:
    def __init__(self, synonyms: Synonyms):
        self.synonyms = synonyms
        zipf_frequency("Amt", "de")  # loads the German word list now, not during the first search

    def correct(self, term: str, vocabulary: Vocabulary, word: str | None = None) -> str | None:
        """Nearest index term for an unknown word: one edit from six letters, two from ten.
        Short words are left alone: too many real words lie one edit apart, and so
        are words of ordinary German the documents happen not to use ("verpasst" is
        not a typo of "verlasst", "Schwager" not one of "schräg"). Only words of
        passages the caller may read are candidates."""
        if len(term) < 6 or not term.isalpha():
            return None
        if word is not None and is_german_word(word):
            return None
        if term in vocabulary:
            return None
        limit = 1 if len(term) < 10 else 2
        choices = process.extract(term, vocabulary.term_list, scorer=Levenshtein.distance, score_cutoff=limit,
                                  limit=25)
        visible = [(c[0], c[1], vocabulary.df(c[0])) for c in choices]
        visible = [c for c in visible if c[2] > 0][:5]
        if not visible:
            return None
        # the most common of the closest terms
        return min(visible, key=lambda c: (c[1], -c[2]))[0]

    def parse(self, text: str, lexical: LexicalIndex | Vocabulary, scopes: frozenset[str] | None = None
              ) -> ParsedQuery:
        terms: dict[str, float] = {}
        corrections: dict[str, str] = {}
        vocabulary = lexical if isinstance(lexical, Vocabulary) else Vocabulary(lexical)
        analyzer = vocabulary.analyzer

        def add(term: str, weight: float) -> None:
            terms[term] = max(terms.get(term, 0.0), weight)

        for token in tokenize(text):
            word_terms = analyzer.word_terms(token)
            if not word_terms:
                continue
            whole, parts = word_terms[0], word_terms[1:]
            if whole in vocabulary or not parts:
                add(whole, everyday_weight(token))
                fixed = self.correct(whole, vocabulary, token)
                if fixed:
                    corrections[token] = fixed
                    add(fixed, CORRECTION_WEIGHT)
            for p in parts:
                # an unknown compound is carried by its parts
                add(p, COMPOUND_PART_WEIGHT if whole in vocabulary else 1.0)

        stems = {stem(fold(t)) for t in tokenize(text) if not is_stopword(t)}
        expansions: list[str] = []
        replacements: dict[str, str] = {}
        for keys, targets in self.synonyms.matches(stems | set(terms), scopes):
            # A word the documents never use ("Perso") carries no signal of its own:
            # its expansion stands in for it with full weight, and the embedding
            # model reads the official word in its place. Otherwise it only helps
            # the lexical side: appended to the question, a list of official terms
            # pulls the embedding towards whatever section uses them most (measured
            # with the full list: dev Hit@5 0.850 appended, 0.867 not).
            unknown = not any(k in vocabulary for k in keys)
            if unknown and len(keys) == 1:
                replacements.setdefault(keys[0], targets[0])
            for phrase in targets:
                if phrase not in expansions:
                    expansions.append(phrase)
                for t in analyzer.terms(phrase):
                    add(t, 1.0 if unknown else EXPANSION_WEIGHT)
        dense_text = re.sub(r"\w+", lambda m: replacements.get(stem(fold(m.group())), m.group()), text)
        return ParsedQuery(text, dense_text, terms, parse_citations(text), corrections, expansions)

