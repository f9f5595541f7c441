"""German text analysis for keyword matching: text → folded, split, stemmed terms.

"Führerschein", "Fuehrerschein" and "FÜHRERSCHEINE" become the same term, so do
"Straße" and "Strasse"; "Melde-Register" meets "Melderegister"; with a
compound splitter, "Wohnsitzanmeldung" also yields "wohnsitz" and "anmeldung".
Used by the lexical index, query processing and highlighting.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import Stemmer

from text.compounds import CompoundSplitter

_TOKEN = re.compile(r"\w+(?:-\w+)*", re.UNICODE)

# Function words that carry no meaning for retrieval (Snowball's German list plus question fillers).
STOPWORDS = frozenset(
    """aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes anderm
    andern anderr anders auch auf aus bei bin bis bist da damit dann das dass dasselbe dazu daß dein deine
    deinem deinen deiner deines dem demselben den denn denselben der derer derselbe derselben des desselben
    dessen dich die dies diese dieselbe dieselben diesem diesen dieser dieses dir doch dort du durch ein
    eine einem einen einer eines einig einige einigem einigen einiger einiges einmal er es etwas euch euer
    eure eurem euren eurer eures für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm
    ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist jede jedem jeden jeder jedes jene jenem
    jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können könnte machen man manche
    manchem manchen mancher manches mein meine meinem meinen meiner meines mich mir mit muss musste nach
    nicht nichts noch nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie
    sind so solche solchem solchen solcher solches soll sollte sondern sonst um und uns unsere unserem
    unseren unser unseres unter viel vom von vor war waren warst was weg weil weiter welche welchem
    welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden
    zu zum zur zwar zwischen ja nein bitte mal eigentlich muss müssen darf dürfen brauche braucht tun
    beim über möchte möchten gibt gibts geht gehen wann warum wieso weshalb wer wem wen wessen bekomme
    bekommt kriege kriegt jemand etwa schon überhaupt einfach gerade genau immer nie lange lang kannst
    könnten dürfte sollen müsste wäre wären hätte hätten jeder jede stimmt richtig eigentlich bzw ob""".split()
)

_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
# Typed without umlauts ("Fuehrerschein"): fold the digraphs too. Consistent
# folding on both sides matters more than the few words it merges.
_DIGRAPHS = re.compile(r"(?<=[^aeiou])(ae|oe|ue)|^(ae|oe|ue)")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


@lru_cache(maxsize=500_000)
def fold(word: str) -> str:
    """Case, umlaut, digraph and ß folding: "Größe" → "grosse", "Fuehrerschein" → "fuhrerschein"."""
    word = unicodedata.normalize("NFKC", word).casefold().translate(_FOLD)
    return _DIGRAPHS.sub(lambda m: (m.group(1) or m.group(2))[0], word)


@lru_cache(maxsize=500_000)
def stem(folded: str) -> str:
    return _stemmer().stemWord(folded)


def tokenize(text: str) -> list[str]:
    """Words; a hyphenated compound ("Melde-Register") stays one token here."""
    return _TOKEN.findall(text)


def _digraph_spelling(word: str) -> str:
    return word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


# Checked before umlaut folding: "ändern" must not become the stopword "andern".
_STOPWORDS_CF = frozenset(STOPWORDS | {_digraph_spelling(w) for w in STOPWORDS})
# Compound parts are folded words; a function word is never a part ("unter|schrift").
_FOLDED_STOPWORDS = frozenset(unicodedata.normalize("NFKC", w).casefold().translate(_FOLD) for w in STOPWORDS)


def is_stopword(word: str) -> bool:
    """For a word as written (any case, with or without umlauts)."""
    return unicodedata.normalize("NFKC", word).casefold() in _STOPWORDS_CF


def word_counts(texts) -> Counter[str]:
    """Folded word frequencies: the vocabulary a compound splitter learns from."""
    counts: Counter[str] = Counter()
    for text in texts:
        for token in tokenize(text):
            for part in token.split("-"):
                counts[fold(part)] += 1
    return counts


# Separable verb particles: "anzumelden" → "anmelden", "abgemeldet" → "abmeldet" (stem "abmeld").
_PARTICLES = ("zuruck", "nach", "fest", "weg", "ein", "aus", "auf", "vor", "mit", "bei", "her", "hin", "an", "ab",
              "um", "zu")


def verb_variants(word: str) -> list[str]:
    """Forms that share a stem with the infinitive: past participles ("gemeldet" →
    "meldet") and zu-infinitives of separable verbs ("anzumelden" → "anmelden")."""
    out = []
    for p in _PARTICLES:
        if word.startswith(p) and len(word) > len(p) + 5:
            rest = word[len(p) :]
            if rest.startswith("zu") and p != "zu":
                out.append(p + rest[2:])
            elif rest.startswith("ge"):
                out.append(p + rest[2:])
            break
    if word.startswith("ge") and len(word) >= 7 and word.endswith(("t", "en")):
        out.append(word[2:])
    # "meldet" → "melden", "andert" → "andern": the infinitive's stem
    return out + [v[:-2] + "en" if v.endswith("et") else v[:-1] + "en" for v in out if v.endswith("t")]


class Analyzer:
    """Text → terms. Without a splitter, compounds stay whole.

    >>> Analyzer().terms("Die Fuehrerscheine")
    ['fuhrerschein']
    """

    def __init__(self, splitter: CompoundSplitter | None = None):
        self.splitter = splitter
        # stems the corpus knows: a verb variant is only added when it leads to one
        self.known_stems = {stem(w) for w in splitter.freq} if splitter else set()

    def _expand(self, folded: str) -> list[str]:
        if self.splitter is None:
            return []
        parts = self.splitter.split(folded)
        if len(parts) == 1:
            return []
        return parts + [sub for p in parts for sub in self._expand(p)]

    def word_terms(self, token: str) -> list[str]:
        """Terms of one token: the word, its compound parts, and for "Melde-Register" also the joined word."""
        # Participles are written in lower case; capitalised "Gericht" is a noun, not ge+richt.
        verb_like = token[:1].islower()
        raw = [p for p in token.split("-") if p]
        if len(raw) > 1:
            raw.append("".join(raw))
        terms = []
        for r in raw:
            w = fold(r)
            if is_stopword(r) or (len(w) < 2 and not w.isdigit()):
                continue
            own = stem(w)
            terms.append(own)
            terms += [stem(p) for p in self._expand(w)]
            for v in verb_variants(w) if verb_like else ():
                sv = stem(v)
                if sv != own and sv in self.known_stems and sv not in terms:
                    terms.append(sv)
        return terms

    def terms(self, text: str) -> list[str]:
        return [t for token in tokenize(text) for t in self.word_terms(token)]


def analyze(text: str) -> list[str]:
    """Terms without compound splitting (for contexts without a corpus vocabulary)."""
    return _PLAIN.terms(text)


_PLAIN = Analyzer()
