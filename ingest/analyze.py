"""German text analysis for keyword matching: tokens → folded, stemmed terms.

"Führerschein", "Fuehrerschein" and "FÜHRERSCHEINE" all become the same term;
"Straße" and "Strasse" too. Used by the lexical index and by highlighting.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"\w+", re.UNICODE)

# Function words that carry no meaning for retrieval (Snowball's German list, abridged to the common ones).
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
    zu zum zur zwar zwischen ja nein bitte denn mal eigentlich""".split()
)

_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


def fold(word: str) -> str:
    """Case, umlaut and ß folding: "Größe" → "grosse"."""
    word = unicodedata.normalize("NFKC", word).casefold()
    return word.translate(_FOLD)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def stem(word: str) -> str:
    return _stemmer().stemWord(fold(word))


def analyze(text: str) -> list[str]:
    """Terms of a text: folded, stopwords removed, stemmed."""
    out = []
    for tok in tokenize(text):
        low = tok.casefold()
        if low in STOPWORDS or (len(low) < 2 and not low.isdigit()):
            continue
        out.append(stem(tok))
    return out
