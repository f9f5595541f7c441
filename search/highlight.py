"""The sentence (or two) of a passage that best answers the question.

A sentence is scored by the question's words it contains, read as the search reads
them (German analysis: folded and stemmed; the index's compound parts and verb forms;
the official words the synonyms add; a term also counts inside a compound, "Perso" in
"Personalausweise"). Each word weighs by its length, by how rare it is in the index
and by how few sentences of the passage contain it: a word that every sentence repeats
(the law's subject, "Gewerbetreibende") does not tell its sentences apart, the rare
one the question turns on ("rückwirkend", "abmelden") does. On top comes what the
question asks for (wie lange, bis wann, ab wie vielen, was kostet, welche Unterlagen
…): a sentence sharing the question's words and stating that kind of thing (a
duration, a deadline, a number, an amount, an age, a list) comes first.

German legal text keeps a list inside its sentence ("… ist verpflichtet, 1. … 2. …"):
a short list is marked whole, a long one as its lead-in with the item that answers.
A sentence that limits the marked rule ("Dies gilt nicht, wenn …") is marked with it.
Cheap enough to run on every result of every query (no model call; README
„Antwortsätze“ has the measurements, also of sentence vectors).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from markupsafe import Markup, escape

from text.analyze import Analyzer, analyze, fold, stem, tokenize
from text.sentences import LIST_ITEM, ends_with_abbreviation, split_sentences

_NUMBER = (r"(\d+|eine?[mnrs]?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|fünfzehn|zwanzig"
           r"|dreißig|vierzig|fünfzig|hundert)")
# "zehn Jahre alt", "16 Jahre oder älter" is an age, not a duration
_DURATION = (rf"\b{_NUMBER}\s+(Tag|Tage|Tagen|Werktag\w*|Woche|Wochen|Monat|Monate|Monaten|Jahr|Jahre|Jahren|Stunden?)\b"
             r"(?!\s+(alt|oder (älter|jünger)))")


@dataclass(frozen=True)
class AnswerType:
    name: str
    cue: re.Pattern        # in the question
    states: re.Pattern     # in an answering sentence


ANSWER_TYPES = [
    # "bis wann" asks for a deadline; a bare "wann" for a point in time (a date), not a duration
    AnswerType("Dauer", re.compile(r"\b(wie ?lange?|frist(en)?|dauer|dauert|bis wann|innerhalb|zeitraum|gültig)\b", re.I),
               re.compile(_DURATION, re.I)),
    # "Wann muss ich …", "bis wann": a deadline or an end ("spätestens", "vor Beginn", "endet mit dem Ablauf")
    AnswerType("Frist", re.compile(r"\b(bis wann|wann (muss|müssen|sollte|spätestens)|rechtzeitig|spätestens)", re.I),
               re.compile(rf"\b(spätestens|binnen|unverzüglich|vor Beginn|vor Ablauf|mit (dem )?Ablauf"
                          rf"|endet|bis zum)\b|{_DURATION}", re.I)),
    # "wie viel kostet" asks for an amount of money; "wie viele", "ab wie vielen" for a number
    AnswerType("Betrag", re.compile(r"\b(wie ?viel|kostet|kosten|gebühr(en)?|betrag|teuer|euro|preis)\b|€", re.I),
               re.compile(r"\d+(,\d+)?\s*(Euro|€)", re.I)),
    AnswerType("Anzahl", re.compile(r"\b(wie ?viele[nrs]?|ab wie viel|anzahl)\b", re.I),
               re.compile(rf"\b(mindestens|mehr als|weniger als|höchstens|bis zu|über|unter)\s+{_NUMBER}\b", re.I)),
    AnswerType("Alter", re.compile(r"\b(wie alt|alter|ab wann|mindestalter)\b|jährig", re.I),
               re.compile(rf"\b{_NUMBER}\.?\s+(Lebensjahr|Jahre)", re.I)),
    # "Welche Unterlagen …", "Was muss alles …": a list ("folgende", "1. … 2. …")
    AnswerType("Aufzählung", re.compile(r"\b(welche (unterlagen|angaben|daten|dokumente|nachweise|papiere|urkunden"
                                        r"|belege|bescheinigungen|voraussetzungen)"
                                        r"|was .{0,30}\balles\b|was muss .{0,40}(drin|enthalten|angeben))", re.I),
               re.compile(r"\bfolgende\b|:\s*1\.\s|\b1\.\s.{3,200}?\b2\.\s", re.I | re.S)),
]

ANSWER_TYPE_PRECEDENCE = 100.0
SIMILARITY_WEIGHT = 4.0  # per unit of cosine, against the best sentence's term score as 1
PART_WEIGHT = 0.6  # a part of the question's compound counts less than the whole word
EXPANSION_WEIGHT = 0.6
LIST_WHOLE_WORDS = 70  # a list up to this length is marked whole; a longer one as lead-in + item
ITEM_MARGIN = 0.67  # … if no other item comes within this share of its value
LENGTH_PENALTY = 0.02  # per term of a sentence: the focused sentence before a long one (README „Antwortsätze“)


def _weight(term: str) -> float:
    return min(len(term), 12) / 4.0


@dataclass
class Question:
    """The question as the sentence scorer reads it: one group of alternative terms per word
    (the word, its compound parts, its verb forms, its typo correction; a sentence counts the
    best of them), the kinds of answer it asks for, and the analyzer both sides are read with
    (the index's, with its compound splitter and verb forms, "geändert" → "ändern"; plain
    without one). Groups from the synonyms' official words come after the question's own
    (`own` of them) and do not count in the share of the question a sentence holds."""
    groups: list[dict[str, float]]
    types: list[AnswerType] = field(default_factory=list)
    analyzer: Analyzer | None = None
    own: int | None = None  # None: every group is the question's own

    @property
    def terms(self) -> set[str]:
        return {t for g in self.groups for t in g}

    @classmethod
    def read(cls, question: str, analyzer: Analyzer | None = None, rarity: Callable[[str], float] | None = None,
             expansions: list[str] = (), corrections: dict[str, str] | None = None) -> "Question":
        """rarity: term → how rare the term is in the index (0.1 … 2); rare words weigh more.
        expansions: the official words the synonyms add ("Samstag" → "Sonnabend"), counted at
        EXPANSION_WEIGHT; corrections: typed word → the index term it was corrected to."""
        groups: list[dict[str, float]] = []
        own = 0
        for text, factor in [(question, 1.0)] + [(e, EXPANSION_WEIGHT) for e in expansions]:
            for token in tokenize(text):
                found = analyzer.word_terms(token) if analyzer else analyze(token)
                if found and token[:1].islower() and found[0].startswith("be") and len(found[0]) >= 7:
                    found = found + [found[0][2:]]  # the verb "beantragen" asks about an "Antrag"
                # the word itself and its typo correction ("Personalauswies" → personalausweis) count
                # fully; its parts and other forms less
                whole = [found[0]] + ([corrections[token]] if corrections and token in corrections else []) if found else []
                group: dict[str, float] = {}
                for t in whole + found[1:]:
                    w = _weight(t) * factor * (1.0 if t in whole else PART_WEIGHT) * (rarity(t) if rarity else 1.0)
                    group[t] = max(group.get(t, 0.0), w)
                if group and not any(group.keys() <= g.keys() for g in groups):
                    groups.append(group)
            if factor == 1.0:
                own = len(groups)
        return cls(groups, [t for t in ANSWER_TYPES if t.cue.search(question)], analyzer, own)


_ELLIPSIS = re.compile(r"\b(\w+)-\s+(?:und|oder|noch|bzw\.|sowie|wie)\s+(\w+)")


def sentence_terms(sentence: str, analyzer: Analyzer | None = None) -> set[str]:
    """Terms of a sentence, with German ellipses completed: "an- noch abmelden" also says
    "anmelden", "Haupt- oder Nebenwohnung" "Hauptwohnung" (every completion of the first
    word with a tail of the second; only those that a question asks for will ever count)."""
    terms = set(analyzer.terms(sentence) if analyzer else analyze(sentence))
    for m in _ELLIPSIS.finditer(sentence):
        head, whole = m.group(1), m.group(2)
        for i in range(1, max(1, len(whole) - 3)):
            terms.add(stem(fold(head + whole[i:].lower())))
    return terms


def _matches(q: str, s_terms: set[str]) -> float:
    if q in s_terms:
        return 1.0
    if len(q) >= 4 and any(q in t for t in s_terms):
        return 0.8  # inside a compound
    return 0.0


# a sentence that qualifies the one before: an exception or a deviation from the rule just stated
_QUALIFIES = re.compile(r"(\(\d+[a-z]?\) )?((dies|das|satz \d+|absatz \d+( satz \d+)?|die sätze \d+ und \d+) gilt nicht\b"
                        r"|(dies|das) gilt (auch )?nur\b|abweichend von (satz|absatz)|ausgenommen\b|es sei denn\b)", re.I)

_SENTENCE_END = re.compile(r"[.!?][\"'“”»)\]]*$")


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage, each a piece of `text` as it stands (line breaks kept).
    A line that does not end a sentence continues on the next one: German legal text breaks
    a sentence around its numbered list ("muss dem Standesamt … angezeigt werden, 1. … 2. …,
    binnen einer Woche angezeigt werden."), and a wrapped line is no sentence of its own."""
    units: list[str] = []
    start = None
    lines = [m for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    for n, m in enumerate(lines):
        line = m.group().strip()
        if start is None:
            start = m.start()
        following = lines[n + 1].group().split(maxsplit=1)[0] if n + 1 < len(lines) else ""
        # "nach § 5 Abs.⏎2" and "ab dem 1.⏎Januar" go on on the next line
        if _SENTENCE_END.search(line) and not ends_with_abbreviation(line, following, keep_lists=True):
            units.append(text[start:m.end()])
            start = None
    if start is not None:
        units.append(text[start:])
    return [s for unit in units for s in split_sentences(unit, keep_lists=True)]


_ITEM_NUMBER = re.compile(r"\s*(\d{1,2}\.|[a-z]\))\s")


def list_items(sentence: str) -> tuple[str, list[str]] | None:
    """A sentence with a numbered list → (lead-in, items), or None. The lead-in is the text
    before item 1; whatever follows the last item's comma stays with that item."""
    cuts = [m.end() for m in LIST_ITEM.finditer(sentence)]
    if len(cuts) < 2:
        return None
    numbers = [_ITEM_NUMBER.match(sentence, c).group(1) for c in cuts]
    if numbers[0] not in ("1.", "a)"):
        return None
    lead = sentence[:cuts[0]].strip()
    items = [sentence[a:b].strip() for a, b in zip(cuts, cuts[1:] + [len(sentence)])]
    return lead, items


@dataclass(frozen=True)
class Marked:
    """The marked text of a passage and how sure the choice is."""
    text: str
    score: float        # matched question weight (length- and rarity-weighted)
    coverage: float     # share of the question's weight the marked text holds
    typed: bool         # states the kind of thing the question asks for (a duration, an amount …)


def _units(sentences: list[str], q: Question) -> list[tuple[int, str, set[str], bool]]:
    """Scoring units (sentence index, text, terms, whole sentence?): every sentence; for a
    long list also lead-in + one item (shown as "lead-in … item"), so the item that answers
    can be marked without the other twenty."""
    out = []
    for i, s in enumerate(sentences):
        out.append((i, s, sentence_terms(s, q.analyzer), True))
        if len(s.split()) <= LIST_WHOLE_WORDS or any(t.name == "Aufzählung" for t in q.types):
            continue
        parsed = list_items(s)
        if parsed is None:
            continue
        lead, items = parsed
        for item in items:
            out.append((i, f"{lead} … {item}", sentence_terms(lead + " " + item, q.analyzer), False))
    return out


def _through(text: str, sentences: list[str], first: int, last: int) -> str:
    """The text from sentence `first` through sentence `last`, as it stands in `text`."""
    start = 0
    for k in range(first):
        start = text.index(sentences[k], start) + len(sentences[k])
    begin = text.index(sentences[first], start)
    end = begin
    for k in range(first, last + 1):
        end = text.index(sentences[k], end) + len(sentences[k])
    return text[begin:end]


def mark(question: Question, text: str, max_sentences: int = 2,
         similarity: list[float] | None = None) -> Marked | None:
    """The sentence (or two) of `text` that answers `question`, or None when none shares its words.

    similarity: the embedding model's cosine of the question with each of sentences_of(text),
    if known. It is not computed in a search: sentence vectors would have to be embedded at
    ingest, which nearly doubles ingest time for a small gain (bench/sentence_vectors.py
    measures both); the parameter lets that bench score with it."""
    if not question.groups:
        return None
    sentences = sentences_of(text)
    if not sentences:
        return None
    if similarity is not None and len(similarity) != len(sentences):
        raise ValueError("one similarity per sentence of the passage")
    units = _units(sentences, question)
    n = len(sentences)
    # in how many sentences each question term occurs: rarity within the passage
    df = {q: sum(1 for _, _, t, whole in units if whole and _matches(q, t)) for q in question.terms}
    spread = {q: 1.0 + math.log(n / df[q]) if df[q] else 1.0 for q in question.terms}
    total = sum(max(g.values()) for g in question.groups[:question.own])
    if total <= 0:
        return None
    scored = []  # (term value, sentence index, text, score, coverage, typed, whole sentence)
    for i, s, terms, whole in units:
        score = cover = 0.0
        for g, group in enumerate(question.groups):
            own = question.own is None or g < question.own  # a synonym's word helps find, not cover
            # the parts of a compound add up ("Wohnungsvermittler": Wohnräume … vermitteln), up to
            # what the whole word is worth
            found = [(w * m, q) for q, w in group.items() if (m := _matches(q, terms))]
            if found:
                worth = max(group.values())
                score += min(worth * max(spread[q] for _, q in found), sum(v * spread[q] for v, q in found))
                if own:
                    cover += min(worth, sum(v for v, _ in found))
        typed = bool(score) and any(t.states.search(s) for t in question.types)
        # Mild length normalisation: prefer the focused sentence over a long list.
        scored.append((score / (1 + LENGTH_PENALTY * len(terms)), i, s, score, min(1.0, cover / total), typed, whole))
    if similarity is not None:
        # the term value relative to the passage's best, plus the cosine relative to the best
        top = max(u[0] for u in scored) or 1.0
        closest = max(similarity)
        scored = [(u[0] / top + SIMILARITY_WEIGHT * (similarity[u[1]] - closest) if u[3] > 0 else -math.inf, *u[1:])
                  for u in scored]
    # a sentence sharing the question's words and stating what it asks for (a duration, an
    # amount, an age) comes before every sentence that does not
    values = [u[0] + (ANSWER_TYPE_PRECEDENCE if u[5] else 0.0) for u in scored]
    best = max(range(len(scored)), key=values.__getitem__)
    if not scored[best][6]:
        # an item of a long list: only when it answers clearly better than the other items;
        # otherwise the whole list, which holds the answer wherever it is
        siblings = [values[j] for j, u in enumerate(scored) if u[1] == scored[best][1] and not u[6] and j != best]
        if siblings and max(siblings) >= ITEM_MARGIN * values[best]:
            best = next(j for j, u in enumerate(scored) if u[1] == scored[best][1] and u[6])
    _, i, s, score, cover, typed, whole = scored[best]
    if score <= 0:
        return None
    text_out = s
    if max_sentences > 1 and whole and i + 1 < n and _QUALIFIES.match(sentences[i + 1]):
        # the next sentence limits the rule just marked ("Dies gilt nicht, wenn …"): both answer
        text_out = _through(text, sentences, i, i + 1)
    elif max_sentences > 1 and whole:
        # Add a neighbour when it also answers (questions often span "(1) ... Satz 2").
        by_sentence = {u[1]: v for u, v in zip(scored, values) if u[6]}
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < n]
        if neighbours:
            j = max(neighbours, key=by_sentence.__getitem__)
            if by_sentence[j] >= 0.8 * values[best]:
                text_out = _through(text, sentences, min(i, j), max(i, j))
    return Marked(text_out, round(score, 3), round(cover, 3), typed)


def best_sentences(question: str, text: str, max_sentences: int = 2, analyzer: Analyzer | None = None) -> str | None:
    marked = mark(Question.read(question, analyzer), text, max_sentences)
    return marked.text if marked else None


def mark_terms(question: str, text: str) -> Markup:
    """The passage as safe HTML with the question's words marked (<mark class="term">),
    matched after German analysis, so "gültig" also marks "Gültigkeit"."""
    wanted = set(analyze(question))
    if not wanted:
        return Markup(escape(text))
    out = []
    last = 0
    for m in re.finditer(r"\w+", text):
        terms = analyze(m.group())
        out.append(escape(text[last:m.start()]))
        if terms and (terms[0] in wanted or any(len(w) >= 6 and terms[0].startswith(w) for w in wanted)):
            out.append(Markup('<mark class="term">') + escape(m.group()) + Markup("</mark>"))
        else:
            out.append(escape(m.group()))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
