"""German compound splitting learned from the corpus's own vocabulary.

"Wohnsitzanmeldung" → wohnsitz + anmeldung, "Personalausweisgebühr" →
personalausweis + gebühr (and personalausweis → personal + ausweis), because
those parts occur as words of their own in the documents. Linking elements
(-s-, -es-, -n-, -en-, -e-, -er-) between the parts are allowed.

The frequency rule of Koehn & Knight (2003) keeps ordinary words whole: a split
is taken only when its parts are, on geometric average, more frequent than the
word itself, every part has at least MIN_PART letters and appears at least
MIN_FREQ times. "Verwaltung" or "Beamter" have no such parts and stay whole.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

LINKING = ("", "s", "es", "n", "en", "e", "er")
MIN_PART = 4
MIN_FREQ = 2
MIN_WORD = 2 * MIN_PART


class CompoundSplitter:
    """Splits folded lower-case words; `vocabulary` maps word → corpus frequency.

    >>> s = CompoundSplitter({"wohnsitz": 5, "anmeldung": 9, "wohnsitzanmeldung": 1})
    >>> s.split("wohnsitzanmeldung")
    ['wohnsitz', 'anmeldung']
    """

    def __init__(self, vocabulary: Counter[str] | dict[str, int], stopwords: frozenset[str] = frozenset()):
        # "unter|schrift": a function word is never a part
        self.freq = {w: n for w, n in vocabulary.items() if w not in stopwords}
        self.split = lru_cache(maxsize=200_000)(self._split)

    def _part_freq(self, part: str) -> int:
        return self.freq.get(part, 0) if len(part) >= MIN_PART else 0

    def _split(self, word: str) -> list[str]:
        """Best split into known parts (recursively for three or more), or [word]."""
        if len(word) < MIN_WORD or not word.isalpha():
            return [word]
        best_parts, best_score = [word], float(self.freq.get(word, 0))
        for i in range(MIN_PART, len(word) - MIN_PART + 1):
            head = word[i:]
            if self._part_freq(head) < MIN_FREQ:
                continue
            left = word[:i]
            for link in LINKING:
                if link and not left.endswith(link):
                    continue
                modifier = left[: len(left) - len(link)] if link else left
                f_mod = self._part_freq(modifier)
                if f_mod >= MIN_FREQ:
                    parts = [modifier, head]
                elif len(modifier) >= MIN_WORD:
                    inner = self.split(modifier)
                    if len(inner) == 1:
                        continue
                    parts = inner + [head]
                    f_mod = math.exp(sum(math.log(max(self._part_freq(p), 1)) for p in inner) / len(inner))
                else:
                    continue
                score = math.sqrt(f_mod * self._part_freq(head))
                if score > best_score:
                    best_parts, best_score = parts, score
        return best_parts
